package org.rollspark.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigRenderOptions;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * One job setting: its key (without the leading {@code roll.}), type, default, doc and check, in the way of Spark
 * MLlib's Params. Each is declared once, as a constant of the component that reads it, in that component's {@link
 * Group} ({@code RollLoss.LAMBDA} in {@code RollLoss.SETTINGS}); the registry {@code org.rollspark.cli.Settings}
 * lists the groups, and reference.conf, the README's settings table, the job-file schema (unknown keys and wrong
 * types are errors), validation, the provenance map and the Spark ML Params all come from these declarations.
 *
 * @param <T> the Java type of the value
 */
public final class Setting<T> {
    private final String key;
    private final Type<T> type;
    private final T defaultValue;
    private final String doc;
    private final Consumer<T> check;
    private final boolean main;

    private Setting(String key, Type<T> type, T defaultValue, String doc, Consumer<T> check, boolean main) {
        this.key = Objects.requireNonNull(key);
        this.type = type;
        this.defaultValue = Objects.requireNonNull(defaultValue, key);
        this.doc = doc;
        this.check = check;
        this.main = main;
        check(defaultValue);
    }

    /** A setting; {@code check} throws IllegalArgumentException with what is wrong (the key is added). */
    public static <T> Setting<T> of(String key, Type<T> type, T defaultValue, String doc, Consumer<T> check) {
        return new Setting<>(key, type, defaultValue, doc, check, false);
    }

    public static <T> Setting<T> of(String key, Type<T> type, T defaultValue, String doc) {
        return of(key, type, defaultValue, doc, v -> { });
    }

    /** The same setting, listed in the README's table of the main settings. */
    public Setting<T> main() {
        return new Setting<>(key, type, defaultValue, doc, check, true);
    }

    public String key() {
        return key;
    }

    /** The HOCON path: {@code roll.<key>}. */
    public String path() {
        return "roll." + key;
    }

    public Type<T> type() {
        return type;
    }

    public T defaultValue() {
        return defaultValue;
    }

    public String doc() {
        return doc;
    }

    public boolean isMain() {
        return main;
    }

    /** Runs the check; the error names the setting and the value. */
    public void check(T value) {
        try {
            check.accept(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(path() + " = " + type.render(value) + ": " + e.getMessage(), e);
        }
    }

    /** The value of this setting in a resolved config (typed read; a value of the wrong type names the key). */
    public T read(Config config) {
        try {
            return type.read.read(config, path());
        } catch (com.typesafe.config.ConfigException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return path();
    }

    /** The settings a component declares, in the order of its source (a class's static initialiser runs top to bottom). */
    public static final class Group {
        private final List<Setting<?>> declared = new java.util.ArrayList<>();

        /** Declares {@code s} in this group. */
        public <T> Setting<T> add(Setting<T> s) {
            declared.add(s);
            return s;
        }

        public List<Setting<?>> settings() {
            return List.copyOf(declared);
        }
    }

    /** Where a component reads its settings from: a job file ({@code JobConfig}, also what the Spark ML estimator's Params become), a data spec. */
    public interface Values {
        <T> T get(Setting<T> s);
    }

    // ------------------------------------------------------------------------------------ checks

    public static Consumer<Integer> atLeast(int min) {
        return v -> {
            if (v < min) {
                throw new IllegalArgumentException("must be >= " + min);
            }
        };
    }

    public static Consumer<Double> finiteAtLeast(double min) {
        return v -> {
            if (!(v >= min) || Double.isInfinite(v)) {
                throw new IllegalArgumentException("must be finite and >= " + min);
            }
        };
    }

    public static Consumer<Double> positive() {
        return v -> {
            if (!(v > 0) || Double.isInfinite(v)) {
                throw new IllegalArgumentException("must be finite and > 0");
            }
        };
    }

    public static Consumer<String> oneOf(List<String> allowed) {
        return v -> {
            if (!allowed.contains(v)) {
                throw new IllegalArgumentException("must be one of " + String.join(", ", allowed));
            }
        };
    }

    /** A value type: how to read it from HOCON, how to write it as a HOCON literal, and as a plain Java value. */
    public static final class Type<T> {
        private final String name;
        private final Reader<T> read;
        private final java.util.function.Function<T, String> render;

        private Type(String name, Reader<T> read, java.util.function.Function<T, String> render) {
            this.name = name;
            this.read = read;
            this.render = render;
        }

        public interface Reader<T> {
            T read(Config c, String path);
        }

        public String name() {
            return name;
        }

        /** The value as a HOCON literal. */
        public String render(T value) {
            return render.apply(value);
        }

        public static final Type<Integer> INT = new Type<>("integer", Config::getInt, String::valueOf);
        public static final Type<Long> LONG = new Type<>("integer", Config::getLong, String::valueOf);
        public static final Type<Double> DOUBLE = new Type<>("number", Config::getDouble, String::valueOf);
        public static final Type<Boolean> BOOL = new Type<>("boolean", Config::getBoolean, String::valueOf);
        public static final Type<String> STRING = new Type<>("string", Config::getString, Type::quote);
        public static final Type<List<Integer>> INTS = new Type<>("list of integers", Config::getIntList, Type::list);
        public static final Type<List<Double>> DOUBLES = new Type<>("list of numbers", Config::getDoubleList, Type::list);
        public static final Type<List<String>> STRINGS = new Type<>("list of strings", Config::getStringList,
                v -> "[" + v.stream().map(Type::quote).collect(Collectors.joining(", ")) + "]");
        /** A list of objects (e.g. layers), kept as its concise JSON text. */
        public static final Type<String> OBJECTS = new Type<>("list of objects",
                (c, p) -> c.getList(p).render(ConfigRenderOptions.concise()), v -> v);

        /** An object of any keys (e.g. a sweep grid), as its plain Java value. */
        @SuppressWarnings("unchecked")
        public static final Type<Map<String, Object>> OBJECT = new Type<>("object",
                (c, p) -> (Map<String, Object>) c.getObject(p).unwrapped(),
                v -> com.typesafe.config.ConfigValueFactory.fromMap(v).render(ConfigRenderOptions.concise()));

        /** Whether values of this type are objects whose keys the registry does not list. */
        public boolean isOpenObject() {
            return this == OBJECT;
        }

        private static String quote(String s) {
            return com.typesafe.config.ConfigValueFactory.fromAnyRef(s).render(ConfigRenderOptions.concise());
        }

        private static String list(List<?> v) {
            return "[" + v.stream().map(String::valueOf).collect(Collectors.joining(", ")) + "]";
        }
    }
}
