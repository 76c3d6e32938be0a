package io.gradstream.architecture;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds what looks like a committed credential in one text file: private keys and well-known token formats anywhere
 * outside test fixtures, and password, secret or token values written as literals outside test code. A finding names
 * the file, the line and the kind, never the value, so that a report does not spread the secret further.
 */
final class SecretPatterns {

    /** One suspected credential: where, and which rule matched. */
    record Finding(String path, int line, String kind) {
        @Override
        public String toString() {
            return path + ":" + line + " (" + kind + ")";
        }
    }

    /** Formats that are credentials whatever surrounds them; only test fixtures may hold them. */
    private static final List<Rule> FORMATS = List.of(
            new Rule("private key", Pattern.compile("-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")),
            new Rule("AWS access key id", Pattern.compile("\\b(?:AKIA|ASIA)[0-9A-Z]{16}\\b")),
            new Rule("GitHub token", Pattern.compile("\\bgh[pousr]_[A-Za-z0-9]{36}\\b")),
            new Rule("GitHub token", Pattern.compile("\\bgithub_pat_[A-Za-z0-9_]{50,}")),
            new Rule("Slack token", Pattern.compile("\\bxox[abposr]-[A-Za-z0-9-]{10,}")),
            new Rule(
                    "Slack webhook",
                    Pattern.compile("hooks\\.slack\\.com/services/T[A-Za-z0-9]+/B[A-Za-z0-9]+/[A-Za-z0-9]{16,}")),
            new Rule("Google API key", Pattern.compile("\\bAIza[0-9A-Za-z_-]{35}\\b")),
            new Rule("Stripe key", Pattern.compile("\\b[sr]k_live_[0-9A-Za-z]{20,}")));

    /** The name of a setting or variable that holds a credential: `password`, `sasl.password`, `API_TOKEN`, ... */
    private static final String KEY =
            "[A-Za-z0-9_.-]*(?i:password|passwd|passphrase|secret|token|api[_-]?key)[A-Za-z0-9_.-]*";

    /** `key = "literal"`, `"key": "literal"`, `key="literal"` inside a JAAS line (in a Java string, \"literal\"). */
    private static final Pattern QUOTED =
            Pattern.compile("(" + KEY + ")\\\\?[\"']?\\s*[:=]\\s*\\\\?[\"']([^\"'\\\\\\s]*)\\\\?[\"']");

    /** `key=value` or `key: value` at the start of a line of a configuration file, script or document. */
    private static final Pattern BARE =
            Pattern.compile("^\\s*(?:export\\s+|-\\s+)?(" + KEY + ")\\s*[:=]\\s*([^\\s#]+)");

    /** A long, random-looking literal after any `...key`/`...secret`/`...token`/`...credential` name. */
    private static final Pattern LONG_LITERAL = Pattern.compile(
            "((?i:[A-Za-z0-9_.-]*(?:key|secret|token|credential|auth)[A-Za-z0-9_.-]*))\\\\?[\"']?\\s*[:=]\\s*\\\\?[\"']?"
                    + "([A-Za-z0-9+/_=-]{24,})");

    /** Values that stand for a secret instead of being one. */
    private static final Set<String> PLACEHOLDER_WORDS = Set.of(
            "changeme",
            "change-me",
            "change_me",
            "example",
            "placeholder",
            "redacted",
            "none",
            "null",
            "true",
            "false",
            "required",
            "optional");

    /**
     * Last words of a setting that points at a secret or describes it instead of holding it: `secretName`,
     * `password.file`, `secretKeyRef`, `logger.tokens.level`, `KEY_LABEL`, `token.ttl.ms`.
     */
    private static final Set<String> DESCRIBING_WORDS = Set.of(
            "name",
            "names",
            "file",
            "files",
            "path",
            "dir",
            "ref",
            "env",
            "provider",
            "providers",
            "location",
            "uri",
            "url",
            "id",
            "label",
            "level",
            "class",
            "type",
            "kind",
            "mode",
            "format",
            "length",
            "bytes",
            "size",
            "count",
            "ms",
            "seconds",
            "ttl",
            "timeout",
            "enabled",
            "required",
            "algorithm",
            "mechanism",
            "version");

    private static final Set<String> CONFIG_SUFFIXES =
            Set.of(".properties", ".yaml", ".yml", ".conf", ".cfg", ".ini", ".env", ".toml", ".sh", ".md", ".txt");

    private record Rule(String kind, Pattern pattern) {}

    private SecretPatterns() {}

    /**
     * Test fixtures may hold anything, credentials included (a key pair a TLS test loads): files under a module's
     * {@code src/test/resources/} and any folder named {@code fixtures}.
     */
    static boolean isFixture(String path) {
        return path.contains("src/test/resources/") || path.startsWith("fixtures/") || path.contains("/fixtures/");
    }

    /**
     * Test code may write throwaway passwords for the brokers it starts itself (SCRAM users of an in-process KRaft
     * broker); it is still searched for the credential formats above.
     */
    static boolean isTestCode(String path) {
        return path.startsWith("src/test/") || path.contains("/src/test/");
    }

    /** Every suspected credential in {@code text}, the content of the tracked file {@code path} (relative, with /). */
    static List<Finding> scan(String path, String text) {
        List<Finding> findings = new ArrayList<>();
        if (isFixture(path)) {
            return findings;
        }
        boolean literalsAllowed = isTestCode(path);
        boolean configLike = isConfigLike(path);
        String[] lines = text.split("\\R", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i];
            for (Rule rule : FORMATS) {
                if (rule.pattern().matcher(line).find()) {
                    findings.add(new Finding(path, i + 1, rule.kind()));
                }
            }
            if (literalsAllowed) {
                continue;
            }
            String literal = literalAssignment(line, configLike);
            if (literal != null) {
                findings.add(new Finding(path, i + 1, literal));
            }
        }
        return findings;
    }

    private static String literalAssignment(String line, boolean configLike) {
        Matcher quoted = QUOTED.matcher(line);
        while (quoted.find()) {
            if (!namesOrDescribesASecret(quoted.group(1)) && !isPlaceholder(quoted.group(2))) {
                return "literal " + keyKind(quoted.group(1));
            }
        }
        if (configLike) {
            Matcher bare = BARE.matcher(line);
            if (bare.find() && !namesOrDescribesASecret(bare.group(1)) && !isPlaceholder(stripQuotes(bare.group(2)))) {
                return "literal " + keyKind(bare.group(1));
            }
        }
        Matcher long_ = LONG_LITERAL.matcher(line);
        while (long_.find()) {
            if (!namesOrDescribesASecret(long_.group(1)) && looksRandom(long_.group(2))) {
                return "high-entropy literal";
            }
        }
        return null;
    }

    /**
     * Empty, a reference (`${file:/etc/kafka/worker.properties:password}`, `$VAR`, `%s`, `{}`), a path to a file
     * that holds the secret, a masked value (`****`, `xxx`), a `<placeholder>` or a word that says it is one.
     */
    static boolean isPlaceholder(String value) {
        String v = value.trim();
        if (v.isEmpty()) {
            return true;
        }
        char first = v.charAt(0);
        if ("$<%{[(@/~".indexOf(first) >= 0 || v.startsWith("./") || v.startsWith("file:")) {
            return true;
        }
        if (v.chars().allMatch(c -> c == '*' || c == 'x' || c == 'X' || c == '.' || c == '-' || c == '_')) {
            return true;
        }
        String lower = v.toLowerCase(Locale.ROOT);
        return PLACEHOLDER_WORDS.contains(lower)
                || lower.startsWith("your-")
                || lower.startsWith("your_")
                || namesASetting(lower);
    }

    /**
     * The name of a setting or variable rather than its value: `PASSWORD_KEY = "ssl.keystore.password"`,
     * `TOKEN_ENV = "GRADSTREAM_TOKEN"` (words joined by dots, dashes or underscores, one of them the credential).
     */
    private static boolean namesASetting(String lower) {
        return lower.matches("[a-z0-9]+(?:[._-][a-z0-9]+)+")
                && lower.matches(".*(?:password|passwd|passphrase|secret|token|api[_-]?key).*");
    }

    /**
     * At least 24 characters with letters and digits and more than 4 bits of Shannon entropy per character: random
     * tokens have about 5 to 6, words, identifiers and hex digests (at most 4) stay below.
     */
    static boolean looksRandom(String value) {
        if (value.length() < 24
                || value.chars().noneMatch(Character::isDigit)
                || value.chars().noneMatch(Character::isLetter)) {
            return false;
        }
        int[] counts = new int[128];
        for (char c : value.toCharArray()) {
            counts[c & 127]++;
        }
        double entropy = 0;
        for (int n : counts) {
            if (n > 0) {
                double p = (double) n / value.length();
                entropy -= p * Math.log(p) / Math.log(2);
            }
        }
        return entropy > 4.0;
    }

    private static boolean namesOrDescribesASecret(String key) {
        String[] words = key.replaceAll("([a-z0-9])([A-Z])", "$1 $2").split("[\\s._-]+");
        return words.length > 1 && DESCRIBING_WORDS.contains(words[words.length - 1].toLowerCase(Locale.ROOT));
    }

    private static boolean isConfigLike(String path) {
        String name = path.substring(path.lastIndexOf('/') + 1).toLowerCase(Locale.ROOT);
        if (name.startsWith("dockerfile") || name.startsWith(".env") || !name.contains(".")) {
            return true;
        }
        return CONFIG_SUFFIXES.stream().anyMatch(name::endsWith);
    }

    private static String stripQuotes(String value) {
        return value.replaceAll("^[\"']|[\"',;]+$", "");
    }

    private static String keyKind(String key) {
        String k = key.toLowerCase(Locale.ROOT);
        if (k.contains("pass")) {
            return "password";
        }
        return k.contains("secret") ? "secret" : k.contains("token") ? "token" : "API key";
    }
}
