package org.rollspark.data;

import static org.rollspark.config.Setting.Type.INTS;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.rollspark.config.Setting;

/**
 * The UCI Japanese Vowels files {@code ae.train} and {@code ae.test}: 12 LPC coefficients per line,
 * one utterance per block of 7-29 lines, blocks separated by blank lines. The label is the speaker
 * (9 classes), from the block's position: ae.train holds 30 blocks per speaker (270), ae.test 31 35
 * 88 44 29 24 40 50 29 (370); other files need {@code roll.data.speakerBlocks}. Examples are
 * (T, 12) sequences padded to the longest, with their lengths.
 */
final class VowelsFormat extends Format {
    /** The settings this component reads, declared here once (the registry: org.rollspark.cli.Settings). */
    public static final Setting.Group SETTINGS = new Setting.Group();

    public static final Setting<List<Integer>> SPEAKER_BLOCKS = SETTINGS.add(Setting.of("data.speakerBlocks", INTS, List.of(),
            "vowels: utterance blocks per speaker, for files other than ae.train (270) and ae.test (370)."));

    private static final long serialVersionUID = 1L;
    static final int COEFFICIENTS = 12;
    static final int[] TRAIN = {30, 30, 30, 30, 30, 30, 30, 30, 30};
    static final int[] TEST = {31, 35, 88, 44, 29, 24, 40, 50, 29};
    private final int[] blocks;

    VowelsFormat(DataSpec spec) {
        this.blocks = spec.ints(SPEAKER_BLOCKS);
    }

    @Override
    public List<Part> parts(Location location, DataFiles.Settings settings) throws IOException {
        return perFile(location, settings);
    }

    @Override
    public int classes(List<Part> parts) {
        return blocks.length > 0 ? blocks.length : TRAIN.length;
    }

    @Override
    public LabeledData read(Part part, DataFiles.Settings settings) throws IOException {
        String file = part.files().get(0);
        SequenceBuilder seqs = new SequenceBuilder(file, COEFFICIENTS);
        try (BufferedReader r = new BufferedReader(new InputStreamReader(DataFiles.open(file, settings), StandardCharsets.UTF_8))) {
            String line;
            int lineNo = 0;
            FloatBuffer block = new FloatBuffer();
            while ((line = r.readLine()) != null) {
                lineNo++;
                String t = FloatBuffer.noBom(line, lineNo).trim();
                if (t.isEmpty()) {
                    if (block.size() > 0) {
                        seqs.add(block.take(), -1);
                    }
                    continue;
                }
                String[] v = t.split("\\s+");
                if (v.length != COEFFICIENTS) {
                    throw new DataFormatException(file, "line " + lineNo, v.length + " values; Japanese Vowels lines hold "
                            + COEFFICIENTS + " LPC coefficients");
                }
                for (int i = 0; i < COEFFICIENTS; i++) {
                    try {
                        block.add(finite(Double.parseDouble(v[i]), file, "line " + lineNo));
                    } catch (NumberFormatException e) {
                        throw new DataFormatException(file, "line " + lineNo, "'" + v[i] + "' is not a number");
                    }
                }
            }
            if (block.size() > 0) {
                seqs.add(block.take(), -1);
            }
        } catch (java.util.zip.ZipException | java.io.EOFException e) {
            throw new DataFormatException(file, "", "corrupt gzip stream (" + e.getMessage() + ")", e);
        }
        int n = seqs.size();
        int[] speakers = blocks.length > 0 ? blocks : n == 270 ? TRAIN : n == 370 ? TEST : null;
        if (speakers == null) {
            throw new DataFormatException(file, "", n + " utterance blocks; ae.train has 270 and ae.test 370 (for other "
                    + "files give the blocks per speaker in " + SPEAKER_BLOCKS + ")");
        }
        int sum = 0;
        for (int b : speakers) {
            sum += b;
        }
        if (sum != n) {
            throw new DataFormatException(file, "", n + " utterance blocks but " + SPEAKER_BLOCKS + " adds up to " + sum);
        }
        int[] labels = new int[n];
        for (int s = 0, i = 0; s < speakers.length; s++) {
            for (int j = 0; j < speakers[s]; j++) {
                labels[i++] = s;
            }
        }
        return seqs.build(part.index(), speakers.length, labels);
    }
}
