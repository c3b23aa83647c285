package org.rollspark.arch;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The package rules of docs/ARCHITECTURE.md, checked on the compiled main classes: data flows one
 * way (util, data, net, graph, dense, region and loss, train, blas, model, spark, report, cli), the math packages
 * know nothing of Spark, Hadoop or the command line, and no two packages depend on each other.
 */
class LayeringTest {
    private static final String ROOT = "org.rollspark";
    /** Packages that hold the method's math: fast to test, reusable from a notebook or a scheduler. */
    private static final String[] MATH = {ROOT + ".net..", ROOT + ".graph..", ROOT + ".dense..", ROOT + ".region..",
            ROOT + ".loss..", ROOT + ".train.."};
    private static JavaClasses classes;

    @BeforeAll
    static void importClasses() {
        classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS).importPackages(ROOT);
    }

    @Test
    void noPackageCycles() {
        slices().matching(ROOT + ".(*)..").should().beFreeOfCycles().check(classes);
    }

    @Test
    void mathPackagesKnowNothingOfClustersFilesOrTheCommandLine() {
        noClasses().that().resideInAnyPackage(MATH).should().dependOnClassesThat()
                .resideInAnyPackage("org.apache.spark..", "org.apache.hadoop..", "org.apache.parquet..", ROOT + ".spark..",
                        ROOT + ".cli..", ROOT + ".model..", ROOT + ".bench..")
                .because("the math packages are tested in milliseconds and reused outside Spark").check(classes);
    }

    @Test
    void networkAbstractionsKnowNoImplementation() {
        noClasses().that().resideInAPackage(ROOT + ".net..").should().dependOnClassesThat()
                .resideInAnyPackage(ROOT + ".graph..", ROOT + ".dense..", ROOT + ".region..", ROOT + ".loss..",
                        ROOT + ".train..")
                .check(classes);
    }

    @Test
    void lossAndCertificationGoThroughTheNetworkInterface() {
        noClasses().that().resideInAnyPackage(ROOT + ".region..", ROOT + ".loss..", ROOT + ".train..", ROOT + ".spark..")
                .should().dependOnClassesThat().resideInAnyPackage(ROOT + ".graph..", ROOT + ".dense..")
                .because("architectures differ only behind Network; model.Architectures builds them").check(classes);
    }

    @Test
    void layersOnlyPointDown() {
        noClasses().that().resideInAnyPackage(ROOT + ".graph..", ROOT + ".dense..").should().dependOnClassesThat()
                .resideInAnyPackage(ROOT + ".region..", ROOT + ".loss..", ROOT + ".train..").check(classes);
        noClasses().that().resideInAPackage(ROOT + ".graph..").should().dependOnClassesThat()
                .resideInAPackage(ROOT + ".dense..").check(classes);
        noClasses().that().resideInAnyPackage(ROOT + ".region..").should().dependOnClassesThat()
                .resideInAnyPackage(ROOT + ".loss..", ROOT + ".train..").check(classes);
        noClasses().that().resideInAnyPackage(ROOT + ".loss..").should().dependOnClassesThat()
                .resideInAnyPackage(ROOT + ".region..", ROOT + ".train..").check(classes);
        noClasses().that().resideInAnyPackage(ROOT + ".model..").should().dependOnClassesThat()
                .resideInAnyPackage(ROOT + ".spark..", ROOT + ".cli..").check(classes);
        noClasses().that().resideInAnyPackage(ROOT + ".blas..").should().dependOnClassesThat()
                .resideInAnyPackage(ROOT + ".model..", ROOT + ".spark..", ROOT + ".cli..", ROOT + ".report..",
                        ROOT + ".bench..", "org.apache.spark..", "org.apache.hadoop..").check(classes);
        noClasses().that().resideInAnyPackage(ROOT + ".spark..").should().dependOnClassesThat()
                .resideInAnyPackage(ROOT + ".cli..", ROOT + ".report..").check(classes);
        noClasses().that().resideInAnyPackage(ROOT + ".report..").should().dependOnClassesThat()
                .resideInAnyPackage(ROOT + ".cli..").check(classes);
        noClasses().that().resideInAnyPackage(ROOT + ".util..", ROOT + ".data..").should().dependOnClassesThat()
                .resideInAnyPackage(ROOT + ".net..", ROOT + ".graph..", ROOT + ".dense..", ROOT + ".region..",
                        ROOT + ".loss..", ROOT + ".train..", ROOT + ".model..", ROOT + ".spark..", ROOT + ".cli..")
                .check(classes);
    }

    /** Every package declares its settings with config.Setting, so config sits below them all. */
    @Test
    void settingDeclarationsKnowNoComponent() {
        noClasses().that().resideInAPackage(ROOT + ".config..").should().dependOnClassesThat()
                .resideOutsideOfPackages(ROOT + ".config..", "java..", "com.typesafe.config..").check(classes);
    }

    @Test
    void utilitiesNeedNoCluster() {
        noClasses().that().resideInAPackage(ROOT + ".util..").should().dependOnClassesThat()
                .resideInAnyPackage("org.apache.spark..", "org.apache.hadoop..").check(classes);
    }
}
