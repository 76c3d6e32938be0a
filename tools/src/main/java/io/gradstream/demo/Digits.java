package io.gradstream.demo;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;

/**
 * The UCI handwritten digits (1797 8×8 images, classes 0..9) shipped in {@code datasets/digits.csv.gz}, with pixels
 * scaled to [0, 1].
 */
public record Digits(float[][] x, int[] y) {
    public static final int FEATURES = 64;
    public static final int CLASSES = 10;

    public static Digits load() {
        try (InputStream in = Digits.class.getResourceAsStream("/datasets/digits.csv.gz")) {
            if (in == null) {
                throw new IllegalStateException("datasets/digits.csv.gz is missing from the classpath");
            }
            BufferedReader r =
                    new BufferedReader(new InputStreamReader(new GZIPInputStream(in), StandardCharsets.US_ASCII));
            List<float[]> rows = new ArrayList<>();
            List<Integer> labels = new ArrayList<>();
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                String[] f = line.split(",");
                if (f.length != FEATURES + 1) {
                    throw new IllegalStateException("digits.csv.gz: a row has " + f.length + " columns");
                }
                float[] row = new float[FEATURES];
                for (int i = 0; i < FEATURES; i++) {
                    row[i] = Float.parseFloat(f[i]) / 16f;
                }
                rows.add(row);
                labels.add((int) Float.parseFloat(f[FEATURES]));
            }
            return new Digits(
                    rows.toArray(new float[0][]),
                    labels.stream().mapToInt(Integer::intValue).toArray());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public int size() {
        return y.length;
    }
}
