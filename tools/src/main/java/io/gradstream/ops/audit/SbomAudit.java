package io.gradstream.ops.audit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** A summary of the CycloneDX SBOM that {@code mvn package} writes for the job jar: what it lists and how much. */
final class SbomAudit {
    /**
     * Where a build leaves the job jar's SBOM, relative to the working folder or to the folder of gradstream.jar
     * ({@code tools/target}, whose own {@code bom.json} describes the command line, not the job).
     */
    static final List<String> PLACES = List.of("jobs/target/bom.json", "../jobs/target/bom.json", "bom.json");

    private SbomAudit() {}

    static Finding run(Path given) {
        Path sbom = given != null ? given : find();
        if (sbom == null) {
            return Finding.warn("sbom", "no SBOM found (mvn package writes jobs/target/bom.json; pass --sbom FILE)");
        }
        try {
            return summary(sbom, new ObjectMapper().readTree(Files.readAllBytes(sbom)));
        } catch (IOException e) {
            return Finding.fail("sbom", sbom + " is not readable JSON (" + e.getMessage() + ")");
        }
    }

    static Finding summary(Path file, JsonNode bom) {
        if (!"CycloneDX".equals(bom.path("bomFormat").asText())) {
            return Finding.fail("sbom", file + " is not a CycloneDX SBOM");
        }
        JsonNode main = bom.path("metadata").path("component");
        int components = bom.path("components").size();
        long licensed = 0;
        for (JsonNode c : bom.path("components")) {
            if (c.path("licenses").size() > 0) {
                licensed++;
            }
        }
        return Finding.info(
                "sbom",
                file + ": CycloneDX " + bom.path("specVersion").asText() + " of "
                        + main.path("name").asText() + " "
                        + main.path("version").asText() + ", " + components + " components (" + licensed
                        + " with a license)");
    }

    private static Path find() {
        Path jarDir = null;
        try {
            jarDir = Path.of(SbomAudit.class
                            .getProtectionDomain()
                            .getCodeSource()
                            .getLocation()
                            .toURI())
                    .getParent();
        } catch (Exception e) {
            // Not from a jar: only the working folder is searched.
        }
        for (String place : PLACES) {
            for (Path base : jarDir == null ? List.of(Path.of("")) : List.of(Path.of(""), jarDir)) {
                Path p = base.resolve(place).normalize();
                if (Files.isRegularFile(p)) {
                    return p;
                }
            }
        }
        return null;
    }
}
