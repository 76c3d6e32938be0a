package io.gradstream.ops.audit;

import io.gradstream.job.JobSettings;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What {@code gradstream audit} looks at.
 *
 * @param kafkaProperties client settings of a principal that may describe the cluster and read the control and
 *     parameters topics (empty: a plain-text client)
 * @param workerProperties a worker's client settings, or null when not given
 * @param jobConfig the job's configuration as given (--config/--set), checked for literal secrets
 * @param secretFiles the credential files given, checked for who may read them
 * @param sbom the CycloneDX SBOM to summarise, or null to look beside the installation
 */
public record AuditTarget(
        String bootstrapServers,
        Map<String, String> kafkaProperties,
        Map<String, String> workerProperties,
        JobSettings settings,
        Map<String, String> jobConfig,
        List<Path> secretFiles,
        String flinkUrl,
        Path sbom) {}
