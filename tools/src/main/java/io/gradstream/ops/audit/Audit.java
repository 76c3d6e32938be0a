package io.gradstream.ops.audit;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code gradstream audit}: Kafka (anonymous access, listeners, authorizer, ACLs, a worker's permissions), Flink's
 * REST endpoint, each model's privacy and budget, where the secrets come from, and the SBOM, in one report.
 */
public final class Audit {
    private Audit() {}

    public static AuditReport run(AuditTarget t) throws InterruptedException {
        List<Finding> findings = new ArrayList<>(new KafkaAudit(t).run());
        findings.add(FlinkAudit.run(t.flinkUrl()));
        findings.addAll(ModelAudit.run(t));
        findings.addAll(SecretAudit.run(t));
        findings.add(SbomAudit.run(t.sbom()));
        return new AuditReport(findings);
    }
}
