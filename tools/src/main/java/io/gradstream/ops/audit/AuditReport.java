package io.gradstream.ops.audit;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The findings of an audit and their overall verdict: FAIL when any finding fails, WARN when any warns, else PASS
 * (INFO lines do not count). Printed as aligned text or as JSON for scripts and compliance records.
 */
public record AuditReport(List<Finding> findings) {

    public AuditReport {
        findings = List.copyOf(findings);
    }

    /** FAIL, WARN or PASS. */
    public Finding.Verdict verdict() {
        Finding.Verdict worst = Finding.Verdict.PASS;
        for (Finding f : findings) {
            if (f.verdict() == Finding.Verdict.FAIL) {
                return Finding.Verdict.FAIL;
            }
            if (f.verdict() == Finding.Verdict.WARN) {
                worst = Finding.Verdict.WARN;
            }
        }
        return worst;
    }

    /** One line per finding ({@code FAIL  kafka listeners  reason}), then the counts and the overall verdict. */
    public List<String> text() {
        int width = findings.stream().mapToInt(f -> f.area().length()).max().orElse(0);
        Map<Finding.Verdict, Integer> counts = new EnumMap<>(Finding.Verdict.class);
        List<String> lines = new ArrayList<>();
        for (Finding f : findings) {
            String detail = f.detail().strip().replaceAll("\\s*\\n\\s*", "; ");
            lines.add(String.format(Locale.ROOT, "%-4s  %-" + width + "s  %s", f.verdict(), f.area(), detail));
            counts.merge(f.verdict(), 1, Integer::sum);
        }
        lines.add(String.format(
                Locale.ROOT,
                "audit: %s (%d PASS, %d WARN, %d FAIL, %d INFO)",
                verdict(),
                counts.getOrDefault(Finding.Verdict.PASS, 0),
                counts.getOrDefault(Finding.Verdict.WARN, 0),
                counts.getOrDefault(Finding.Verdict.FAIL, 0),
                counts.getOrDefault(Finding.Verdict.INFO, 0)));
        return lines;
    }

    /** {@code {"verdict": "PASS", "findings": [{"area": ..., "verdict": ..., "detail": ...}, ...]}}. */
    public String json() {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode root = mapper.createObjectNode();
        root.put("verdict", verdict().name());
        ArrayNode list = root.putArray("findings");
        for (Finding f : findings) {
            list.addObject()
                    .put("area", f.area())
                    .put("verdict", f.verdict().name())
                    .put("detail", f.detail());
        }
        try {
            return mapper.writerWithDefaultPrettyPrinter().writeValueAsString(root);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException("cannot write the report as JSON", e);
        }
    }

    /** 1 when the verdict is FAIL, else 0. */
    public int exitStatus() {
        return verdict() == Finding.Verdict.FAIL ? 1 : 0;
    }
}
