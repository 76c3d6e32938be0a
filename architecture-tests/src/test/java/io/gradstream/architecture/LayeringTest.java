package io.gradstream.architecture;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The module layering of docs/architecture.md as rules over the main classes of every module, so that a wrong import
 * fails the build instead of waiting for a reviewer: the numeric core, the model layer and the conformance library
 * know nothing of Flink, Kafka or JOCL, the Flink operator nothing of OpenCL, and no package depends on itself through
 * others.
 */
class LayeringTest {
    private static JavaClasses classes;

    @BeforeAll
    static void importMainClasses() {
        // The modules arrive as jars (a reactor build) or as installed artifacts; their test classes do not.
        classes = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("io.gradstream");
    }

    @Test
    void everyModuleIsImported() {
        // A rule over an empty import would pass vacuously: check the importer saw each layer.
        for (String pkg : new String[] {
            "io.gradstream.core",
            "io.gradstream.schemas",
            "io.gradstream.model",
            "io.gradstream.conformance",
            "io.gradstream.operators",
            "io.gradstream.opencl",
            "io.gradstream.client",
            "io.gradstream.job",
            "io.gradstream.cli"
        }) {
            org.assertj.core.api.Assertions.assertThat(
                            classes.stream().anyMatch(c -> c.getPackageName().startsWith(pkg)))
                    .as(pkg)
                    .isTrue();
        }
    }

    @Test
    void theNumericCoreDependsOnNoFrameworkAndNoOtherModule() {
        ArchRule rule = noClasses()
                .that()
                .resideInAPackage("io.gradstream.core..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(
                        "org.apache.flink..",
                        "org.apache.kafka..",
                        "org.jocl..",
                        "org.apache.avro..",
                        "io.gradstream.schemas..",
                        "io.gradstream.model..",
                        "io.gradstream.operators..",
                        "io.gradstream.opencl..",
                        "io.gradstream.job..",
                        "io.gradstream.client..")
                .because("the same kernels serve the job, the CLI, benchmarks and the conformance checks");
        rule.check(classes);
    }

    @Test
    void theModelLayerKnowsNoFlinkKafkaOrOpenCl() {
        noClasses()
                .that()
                .resideInAPackage("io.gradstream.model..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(
                        "org.apache.flink..",
                        "org.apache.kafka..",
                        "org.jocl..",
                        "io.gradstream.operators..",
                        "io.gradstream.opencl..",
                        "io.gradstream.job..")
                .because("admission and the control log are plain classes, unit-tested without a MiniCluster")
                .check(classes);
    }

    @Test
    void theConformanceLibraryKnowsNoFrameworkAndOnlyTheCore() {
        noClasses()
                .that()
                .resideInAPackage("io.gradstream.conformance..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage("org.apache.flink..", "org.apache.kafka..", "org.jocl..", "org.apache.avro..")
                .orShould()
                .dependOnClassesThat(resideInAPackage("io.gradstream..")
                        .and(not(resideInAnyPackage("io.gradstream.core..", "io.gradstream.conformance.."))))
                .because("one replay judges every StepBackend (the OpenCL one from its tests) and serves the CLI")
                .check(classes);
    }

    @Test
    void theFlinkOperatorKnowsNoOpenCl() {
        noClasses()
                .that()
                .resideInAPackage("io.gradstream.operators..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage("io.gradstream.opencl..", "org.jocl..")
                .because("accelerated backends are plugged in through StepBackendFactory (ServiceLoader)")
                .check(classes);
    }

    @Test
    void schemasAndTheClientKnowNoFlink() {
        noClasses()
                .that()
                .resideInAnyPackage("io.gradstream.schemas..", "io.gradstream.client..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(
                        "org.apache.flink..",
                        "org.jocl..",
                        "io.gradstream.operators..",
                        "io.gradstream.opencl..",
                        "io.gradstream.job..")
                .check(classes);
    }

    @Test
    void theJobKnowsNoTool() {
        noClasses()
                .that()
                .resideInAnyPackage("io.gradstream.job..", "io.gradstream.kafka..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(
                        "io.gradstream.cli..",
                        "io.gradstream.local..",
                        "io.gradstream.demo..",
                        "io.gradstream.ops..",
                        "io.gradstream.bench..")
                .because("the jobs module (and its cluster jar) is the job only; the tools module builds on it")
                .check(classes);
    }

    @Test
    void modelManagementAndExportKnowNoFlink() {
        noClasses()
                .that()
                .resideInAnyPackage("io.gradstream.ops.model..", "io.gradstream.ops.export..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(
                        "org.apache.flink..",
                        "io.gradstream.job..",
                        "io.gradstream.operators..",
                        "io.gradstream.opencl..")
                .because("gradstream model and gradstream export work against any Kafka cluster, without Flink")
                .check(classes);
    }

    @Test
    void onlyTheOpenClModuleTouchesJocl() {
        noClasses()
                .that()
                .resideOutsideOfPackage("io.gradstream.opencl..")
                .should()
                .dependOnClassesThat()
                .resideInAPackage("org.jocl..")
                .check(classes);
    }

    @Test
    void noPackageCycles() {
        slices().matching("io.gradstream.(**)").should().beFreeOfCycles().check(classes);
    }
}
