package io.pbft.examples.lock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.client.PbftClient;
import io.pbft.config.ClusterConfig;
import io.pbft.config.ClusterSetup;
import io.pbft.replica.app.ApplicationLoader;
import io.pbft.replica.app.StateMachine;
import io.pbft.replica.runtime.ReplicaServer;
import io.pbft.testkit.ClusterConfigs;
import io.pbft.testkit.Ports;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Replicas that load the lock service from a jar by its name, as {@code pbft replica --app-jar
 * JAR} does (ApplicationLoader, the manifest's Pbft-Application naming the class), and serve it.
 * The example's classes are also on this test's class path; the loader's parent here hides them,
 * so the replicas run the classes from the jar, as a replica whose class path holds only pbft.
 */
class LockServiceJarTest {
  @TempDir
  Path dir;

  /** The example's compiled classes in a jar whose manifest names the lock service, as the module's jar. */
  private Path exampleJar() throws Exception {
    Path classes = Path.of(LockService.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    Manifest manifest = new Manifest();
    manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
    manifest.getMainAttributes().putValue(ApplicationLoader.MANIFEST_ATTRIBUTE, LockService.class.getName());
    Path jar = dir.resolve("pbft-examples.jar");
    try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar), manifest);
        Stream<Path> files = Files.walk(classes)) {
      for (Path p : files.filter(Files::isRegularFile).toList()) {
        out.putNextEntry(new JarEntry(classes.relativize(p).toString().replace('\\', '/')));
        Files.copy(p, (OutputStream) out);
        out.closeEntry();
      }
    }
    return jar;
  }

  /** This test's class loader without the example's classes. */
  private static ClassLoader withoutExamples() {
    return new ClassLoader(LockServiceJarTest.class.getClassLoader()) {
      @Override
      protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
        if (name.startsWith("io.pbft.examples.")) {
          throw new ClassNotFoundException(name);
        }
        return super.loadClass(name, resolve);
      }
    };
  }

  @Test
  void replicasServeTheLockServiceLoadedFromItsJar() throws Exception {
    ApplicationLoader.Application app = ApplicationLoader.load(null, List.of(exampleJar()), withoutExamples());
    assertEquals(LockService.class.getName(), app.type().getName(), "named by the jar's manifest");
    assertNotSame(LockService.class, app.type(), "loaded from the jar, not from the class path");

    ClusterConfig generated = ClusterSetup.generateWithoutTls(dir.resolve("cluster"), 4, 1, "127.0.0.1",
        Ports.free(), -1, new SecureRandom());
    ClusterConfig config = ClusterConfigs.onLoopback(generated, Ports.free(4));
    List<ReplicaServer> replicas = new ArrayList<>();
    try {
      for (int i = 0; i < 4; i++) {
        StateMachine service = app.newInMemory();
        assertTrue(service.getClass().getClassLoader() != LockService.class.getClassLoader());
        replicas.add(ReplicaServer.start(config, i, config.replicaKeys(i), service));
      }
      try (LockClient locks = new LockClient(PbftClient.newBuilder().config(config).clientId(0)
          .operationTimeout(Duration.ofSeconds(60)).build(), true)) {
        LockClient.Lease lease = locks.acquire("jar", "carol", Duration.ofMinutes(5)).orElseThrow();
        assertEquals(1, lease.fencing());
        assertEquals("carol", locks.holder("jar").orElseThrow().owner());
        assertTrue(locks.release(lease));
      }
    } finally {
      replicas.forEach(ReplicaServer::close);
    }
  }
}
