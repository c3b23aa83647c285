package org.rollspark.spark;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import org.apache.spark.api.java.function.Function2;

/**
 * The workers of a barrier stage adding their results up in {@link TreeSum}'s tree and handing one value
 * back down, over TCP connections between the tasks themselves (nothing passes through the driver).
 *
 * <p>Worker {@code i}'s parent is {@code i} with its lowest non-zero base-{@value TreeSum#FAN_IN} digit
 * cleared; so worker 0 adds workers 1, 2, 3 (TreeSum's first group), then the sums of workers 4, 8 and 12
 * (the second level's group), and so on, and folds the last level's sums into the zero as the driver does.
 * Every add happens in the same order and with the same operands as in {@link TreeSum#onSpark} and
 * {@link TreeSum.Stream}, so the total has the same bits.
 *
 * <p>The workers find each other through one all-gather of {@code host:port} (Spark's
 * {@code BarrierTaskContext.allGather}); a connection is accepted only with the stage's random token.
 * Blocking reads wake every second to ask whether the task was killed, so a failed barrier stage stops
 * all its tasks; a peer that dies closes its sockets and its neighbours fail at once. Values travel as
 * length-prefixed frames; a value going down is forwarded as the bytes it came in.
 */
final class TreeExchange implements AutoCloseable {
    /** How values of one type are written and read. */
    interface Codec<T> {
        void write(Frame out, T value);

        /** The value in {@code in}, which is valid until the next exchange. */
        T read(ByteBuffer in);

        /**
         * {@code add(acc, read(in))}, with the same bits; a codec may add from the bytes without building the
         * value first.
         */
        default T addFrom(T acc, ByteBuffer in, Function2<T, T, T> add) {
            return TreeSum.call(add, acc, read(in));
        }
    }

    private static final int POLL_MS = 1000;

    private final Frame out = new Frame();
    private byte[] received = new byte[1 << 16];
    private static final int NULL_FRAME = -1;

    private final int me;
    private final int n;
    private final BooleanSupplier cancelled;
    private final List<Socket> sockets = new ArrayList<>();
    private Link parent;
    /** While connecting: when a handshake read gives up (a connection that never says who it is). */
    private volatile long setupDeadline = Long.MAX_VALUE;
    private final Link[] children;

    /** One connection's streams. */
    private record Link(int peer, DataInputStream in, DataOutputStream out) {}

    private TreeExchange(int me, int n, BooleanSupplier cancelled) {
        this.me = me;
        this.n = n;
        this.cancelled = cancelled;
        this.children = new Link[children(me, n).length];
    }

    /** Worker {@code i}'s parent (-1 for worker 0). */
    static int parent(int i) {
        if (i == 0) {
            return -1;
        }
        long step = 1;
        while (i % (step * TreeSum.FAN_IN) == 0) {
            step *= TreeSum.FAN_IN;
        }
        return (int) (i - i % (step * TreeSum.FAN_IN));
    }

    /** Worker {@code i}'s children among {@code n}, in the order their sums are added to its own. */
    static int[] children(int i, int n) {
        List<Integer> out = new ArrayList<>();
        for (long step = 1; step < n && i % (step * TreeSum.FAN_IN) == 0; step *= TreeSum.FAN_IN) {
            for (int d = 1; d < TreeSum.FAN_IN; d++) {
                long c = i + d * step;
                if (c < n) {
                    out.add((int) c);
                }
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The tree level (as a step 1, 4, 16, ...) whose sums worker 0 folds into the zero: the driver's fold in TreeSum. */
    private static long topStep(int n) {
        long step = 1;
        for (int l = 0; l < TreeSum.levels(n); l++) {
            step *= TreeSum.FAN_IN;
        }
        return step;
    }

    /**
     * Connects worker {@code me} of {@code n} to its parent and children. {@code allGather} hands every
     * worker's {@code host:port} to all, in worker order; {@code host} is how the others reach this one.
     * Gives up after {@code setupMillis} without all neighbours connected, or when {@code cancelled} says so.
     */
    static TreeExchange open(int me, int n, String host, long token, Function<String, String[]> allGather,
            BooleanSupplier cancelled, long setupMillis) throws IOException {
        TreeExchange x = new TreeExchange(me, n, cancelled);
        int[] kids = children(me, n);
        try (ServerSocket server = new ServerSocket()) {
            server.bind(new InetSocketAddress(0), Math.max(50, kids.length));
            server.setSoTimeout(POLL_MS);
            String[] addresses = allGather.apply(host + ":" + server.getLocalPort());
            if (addresses.length != n) {
                throw new IOException("all-gather returned " + addresses.length + " addresses for " + n + " workers");
            }
            long deadline = System.currentTimeMillis() + setupMillis;
            x.setupDeadline = deadline;
            if (me != 0) {
                int p = parent(me);
                Socket s = new Socket();
                x.sockets.add(s);
                s.connect(socketAddress(addresses[p]), (int) Math.max(1000, setupMillis));
                x.parent = x.link(s, p);
                x.parent.out().writeLong(token);
                x.parent.out().writeInt(me);
                x.parent.out().flush();
            }
            int connected = 0;
            while (connected < kids.length) {
                Socket s;
                try {
                    s = server.accept();
                } catch (SocketTimeoutException e) {
                    x.checkCancelled();
                    if (System.currentTimeMillis() > deadline) {
                        throw new IOException("worker " + me + " of " + n + ": " + (kids.length - connected)
                                + " of its peers did not connect within " + setupMillis / 1000 + " s");
                    }
                    continue;
                }
                x.sockets.add(s);
                Link l = x.link(s, -1);
                long t;
                int who;
                try {
                    t = l.in().readLong();
                    who = l.in().readInt();
                } catch (InterruptedIOException e) {
                    throw e;
                } catch (IOException e) {
                    s.close();
                    continue; // a connection that is not a peer's
                }
                int slot = indexOf(kids, who);
                if (t != token || slot < 0 || x.children[slot] != null) {
                    s.close();
                    continue;
                }
                x.children[slot] = new Link(who, l.in(), l.out());
                connected++;
            }
            x.setupDeadline = Long.MAX_VALUE;
            return x;
        } catch (IOException | RuntimeException e) {
            x.close();
            throw e;
        }
    }

    /** A {@code host:port} string as a socket address. */
    static InetSocketAddress socketAddress(String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        if (colon < 0) {
            throw new IllegalArgumentException("not host:port: " + hostPort);
        }
        return new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)));
    }

    private static int indexOf(int[] a, int v) {
        for (int i = 0; i < a.length; i++) {
            if (a[i] == v) {
                return i;
            }
        }
        return -1;
    }

    private Link link(Socket s, int peer) throws IOException {
        s.setSoTimeout(POLL_MS);
        s.setTcpNoDelay(true);
        return new Link(peer, new DataInputStream(new BufferedInputStream(new Patient(s.getInputStream()), 1 << 16)),
                new DataOutputStream(new BufferedOutputStream(s.getOutputStream(), 1 << 16)));
    }

    private void checkCancelled() throws InterruptedIOException {
        if (cancelled.getAsBoolean() || Thread.currentThread().isInterrupted()) {
            throw new InterruptedIOException("worker " + me + " of " + n + ": the task was killed");
        }
    }

    /** A read timed out: go on waiting unless the task was killed or the connection set-up is overdue. */
    private void stillWaiting() throws IOException {
        checkCancelled();
        if (System.currentTimeMillis() > setupDeadline) {
            throw new SocketTimeoutException("worker " + me + " of " + n + ": a connection did not identify itself in time");
        }
    }

    /** A socket input that waits through read timeouts, asking each time whether the task was killed. */
    private final class Patient extends FilterInputStream {
        Patient(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            while (true) {
                try {
                    return super.read();
                } catch (SocketTimeoutException e) {
                    stillWaiting();
                }
            }
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            while (true) {
                try {
                    return super.read(b, off, len);
                } catch (SocketTimeoutException e) {
                    stillWaiting();
                }
            }
        }
    }

    private <T> Frame encode(Codec<T> codec, T value) {
        if (value == null) {
            return null;
        }
        codec.write(out.clear(), value);
        return out;
    }

    private static void writeFrame(Link to, byte[] bytes, int length) throws IOException {
        to.out().writeInt(bytes == null ? NULL_FRAME : length);
        if (bytes != null) {
            to.out().write(bytes, 0, length);
        }
        to.out().flush();
    }

    /** The next frame's length from {@code from}, its bytes read into {@link #received}; -1 for a null value. */
    private int readFrame(Link from) throws IOException {
        int len;
        try {
            len = from.in().readInt();
        } catch (java.io.EOFException e) {
            throw new IOException("worker " + me + " of " + n + ": worker " + from.peer() + " closed its connection "
                    + "(its task failed or was killed)", e);
        }
        if (len == NULL_FRAME) {
            return -1;
        }
        if (len < 0) {
            throw new IOException("worker " + me + " of " + n + ": a frame of " + len + " bytes from worker " + from.peer());
        }
        if (received.length < len) {
            received = new byte[Math.max(len, (int) Math.min(Integer.MAX_VALUE - 8, 2L * received.length))];
        }
        from.in().readFully(received, 0, len);
        return len;
    }

    private <T> T decode(Codec<T> codec, int len) {
        return len < 0 ? null : codec.read(Frame.reader(received, len));
    }

    /**
     * Adds every worker's {@code mine} (null: nothing to add) up the tree; worker 0 gets the total, folded
     * into {@code zero} as {@link TreeSum} does (others get null). {@code add} may mutate and return its
     * first argument.
     */
    <R> R sum(R mine, R zero, Function2<R, R, R> add, Codec<R> codec) throws IOException {
        R acc = mine;
        boolean folded = false;
        long top = topStep(n);
        int k = 0;
        for (long step = 1; step < n && me % (step * TreeSum.FAN_IN) == 0; step *= TreeSum.FAN_IN) {
            if (me == 0 && step == top) {
                acc = fold(add, zero, acc);
                folded = true;
            }
            for (int d = 1; d < TreeSum.FAN_IN && me + d * step < n; d++) {
                int len = readFrame(children[k++]);
                if (len >= 0) {
                    acc = acc == null ? decode(codec, len) : codec.addFrom(acc, Frame.reader(received, len), add);
                }
            }
        }
        if (me != 0) {
            Frame f = encode(codec, acc);
            writeFrame(parent, f == null ? null : f.array(), f == null ? 0 : f.length());
            return null;
        }
        return folded ? acc : fold(add, zero, acc);
    }

    private static <R> R fold(Function2<R, R, R> add, R zero, R acc) {
        return acc == null ? zero : TreeSum.call(add, zero, acc);
    }

    /**
     * Worker 0's {@code value} handed to every worker (the others pass null and get it, valid until the next
     * exchange). A frame is passed on to the children as the bytes it came in.
     */
    <T> T broadcast(T value, Codec<T> codec) throws IOException {
        byte[] bytes;
        int len;
        if (me == 0) {
            Frame f = encode(codec, value);
            bytes = f == null ? null : f.array();
            len = f == null ? -1 : f.length();
        } else {
            len = readFrame(parent);
            bytes = len < 0 ? null : received;
        }
        for (int c = children.length - 1; c >= 0; c--) { // the largest subtrees first
            writeFrame(children[c], bytes, len);
        }
        return me == 0 ? value : decode(codec, len);
    }

    @Override
    public void close() {
        for (Socket s : sockets) {
            try {
                s.close();
            } catch (IOException e) {
                // closing: nothing left to do
            }
        }
    }
}
