package io.pbft.replica.arch;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * The protocol core must stay pure so that the deterministic simulator can run it unchanged:
 * no threads, sockets, files, clocks or global randomness, and no reaching into the runtime.
 */
class CorePurityTest {
  private static final JavaClasses CORE = new ClassFileImporter()
      .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
      .importPackages("io.pbft.replica.core", "io.pbft.replica.verify");

  @Test
  void coreDoesNotUseThreadsOrConcurrency() {
    noClasses().that().resideInAnyPackage("io.pbft.replica.core..", "io.pbft.replica.verify..")
        .should().dependOnClassesThat().resideInAnyPackage("java.util.concurrent..")
        .orShould().dependOnClassesThat().areAssignableTo(Thread.class)
        .orShould().dependOnClassesThat().areAssignableTo(Runnable.class)
        .check(CORE);
  }

  @Test
  void coreDoesNotTouchNetworkFilesOrTheRuntime() {
    noClasses().that().resideInAnyPackage("io.pbft.replica.core..", "io.pbft.replica.verify..")
        .should().dependOnClassesThat().resideInAnyPackage("java.net..", "java.nio.file..",
            "java.nio.channels..", "io.grpc..", "io.pbft.replica.runtime..")
        .orShould().dependOnClassesThat().haveNameMatching("java\\.io\\.(File|RandomAccessFile|Console).*")
        .orShould().accessField(System.class, "out")
        .orShould().accessField(System.class, "err")
        .check(CORE);
  }

  @Test
  void coreDoesNotReadClocksOrGlobalRandomness() {
    noClasses().that().resideInAnyPackage("io.pbft.replica.core..", "io.pbft.replica.verify..")
        .should().callMethod(System.class, "currentTimeMillis")
        .orShould().callMethod(System.class, "nanoTime")
        .orShould().dependOnClassesThat().resideInAnyPackage("java.time..")
        .orShould().dependOnClassesThat().areAssignableTo(java.util.Random.class)
        .orShould().callMethod(Math.class, "random")
        .check(CORE);
  }
}
