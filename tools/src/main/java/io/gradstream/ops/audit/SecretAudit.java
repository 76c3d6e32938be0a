package io.gradstream.ops.audit;

import io.gradstream.kafka.KafkaClients;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where each secret comes from: credential files must be readable by their owner only, a file that a Kafka config
 * provider reference ({@code ${file:/path:key}}, {@code ${dir:/path:key}}) names likewise, and the job's configuration
 * must hold references, never literal secrets (it is part of the job graph and shown by Flink's UI).
 */
final class SecretAudit {
    private static final Pattern REFERENCE = Pattern.compile("\\$\\{(?:file|dir):([^:}]+)(?::[^}]*)?}");
    private static final String KAFKA_PREFIX = "gradstream.kafka.";

    private SecretAudit() {}

    static List<Finding> run(AuditTarget t) {
        List<Finding> out = new ArrayList<>();
        Set<Path> files = new LinkedHashSet<>(t.secretFiles());
        for (Path f : t.secretFiles()) {
            files.addAll(referencedBy(f));
        }
        t.jobConfig().forEach((k, v) -> {
            if (isLiteralSecret(k, v)) {
                out.add(Finding.fail(
                        "secrets",
                        "job configuration key " + k + " holds a literal secret: it would travel in the job graph; "
                                + "reference a file with ${file:/path:key} (config.providers)"));
            }
            files.addAll(references(v));
        });
        for (Path f : files) {
            out.add(permissions(f));
        }
        if (out.isEmpty()) {
            out.add(Finding.info("secrets", "no credential file given (--kafka-config, --worker-config)"));
        }
        return out;
    }

    /**
     * A {@code gradstream.kafka.*} key whose value is a secret rather than a reference (the job refuses to start with
     * one; a configuration file can still hold one). Flink's own keys are not judged: they cannot take references.
     */
    static boolean isLiteralSecret(String key, String value) {
        return key.startsWith(KAFKA_PREFIX)
                && value != null
                && KafkaClients.holdsLiteralSecret(key.substring(KAFKA_PREFIX.length()), value);
    }

    static Set<Path> references(String value) {
        Set<Path> out = new LinkedHashSet<>();
        Matcher m = REFERENCE.matcher(value == null ? "" : value);
        while (m.find()) {
            out.add(Path.of(m.group(1)));
        }
        return out;
    }

    private static Set<Path> referencedBy(Path propertiesFile) {
        Set<Path> out = new LinkedHashSet<>();
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(propertiesFile)) {
            p.load(r);
        } catch (IOException | IllegalArgumentException e) {
            return out; // permissions() reports the file itself
        }
        for (Map.Entry<Object, Object> e : p.entrySet()) {
            out.addAll(references(String.valueOf(e.getValue())));
        }
        return out;
    }

    /** Owner-only: PASS; readable or writable by group or others: FAIL; missing: FAIL; no POSIX permissions: INFO. */
    static Finding permissions(Path f) {
        if (!Files.exists(f)) {
            return Finding.fail("secrets", f + " does not exist");
        }
        Set<PosixFilePermission> perms;
        try {
            perms = Files.getPosixFilePermissions(f);
        } catch (UnsupportedOperationException e) {
            return Finding.info("secrets", f + ": no POSIX permissions on this file system, not checked");
        } catch (IOException e) {
            return Finding.fail("secrets", f + ": cannot read its permissions (" + e.getMessage() + ")");
        }
        String mode = java.nio.file.attribute.PosixFilePermissions.toString(perms);
        boolean shared = perms.stream().anyMatch(p -> !p.name().startsWith("OWNER"));
        if (shared) {
            return Finding.fail("secrets", f + " is " + mode + ": readable by others (chmod 600)");
        }
        return Finding.pass("secrets", f + " is " + mode + " (owner only)");
    }
}
