package io.pbft.replica.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loading a user's application from a jar that is not on the class path, and the errors for a wrong one. */
class ApplicationLoaderTest {
  @TempDir
  Path dir;

  private static final String COUNTER = """
      package com.example;

      import io.pbft.replica.app.ExecutionContext;
      import io.pbft.replica.app.Operation;
      import io.pbft.replica.app.StateMachine;
      import java.util.ArrayList;
      import java.util.List;

      public class Counter implements StateMachine {
        private long count;

        public List<byte[]> execute(ExecutionContext context, List<Operation> operations) {
          List<byte[]> out = new ArrayList<>();
          for (Operation op : operations) {
            out.add(Long.toString(++count + context.timeMillis()).getBytes());
          }
          return out;
        }

        public byte[] query(byte[] operation) { return Long.toString(count).getBytes(); }
        public byte[] stateDigest() { return Long.toString(count).getBytes(); }
        public byte[] snapshot() { return Long.toString(count).getBytes(); }
        public void restore(byte[] snapshot) { count = Long.parseLong(new String(snapshot)); }
      }
      """;

  private static final String NO_DEFAULT_CONSTRUCTOR = """
      package com.example;

      public class NeedsArgs extends Counter {
        public NeedsArgs(int x) {}
      }
      """;

  /** Compiles the sources against this class path into a jar (with {@code manifestApp}, if not null). */
  private Path jar(String manifestApp, String... sources) throws Exception {
    Path src = Files.createDirectories(dir.resolve("src/com/example"));
    Path classes = Files.createDirectories(dir.resolve("classes"));
    List<String> args = new java.util.ArrayList<>(List.of("-d", classes.toString(), "-cp",
        System.getProperty("java.class.path")));
    for (String s : sources) {
      String name = s.substring(s.indexOf("public class ") + 13).split("\\s")[0];
      Path file = src.resolve(name + ".java");
      Files.writeString(file, s);
      args.add(file.toString());
    }
    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    assertNotNull(javac, "tests run on a JDK");
    assertEquals(0, javac.run(null, null, null, args.toArray(String[]::new)));
    Manifest manifest = new Manifest();
    manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
    if (manifestApp != null) {
      manifest.getMainAttributes().putValue(ApplicationLoader.MANIFEST_ATTRIBUTE, manifestApp);
    }
    Path jar = dir.resolve("app.jar");
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

  @Test
  void loadsAnApplicationFromAJarNotOnTheClassPath() throws Exception {
    Path jar = jar(null, COUNTER);
    assertThrows(ClassNotFoundException.class, () -> Class.forName("com.example.Counter"));
    ApplicationLoader.Application app = ApplicationLoader.load("com.example.Counter", List.of(jar));
    StateMachine counter = app.newInMemory();
    assertInstanceOf(URLClassLoader.class, counter.getClass().getClassLoader());
    assertFalse(app.durable());
    List<byte[]> out = counter.execute(new ExecutionContext(1, 1000, new byte[32]),
        List.of(new Operation(0, 1, new byte[0])));
    assertEquals("1001", new String(out.get(0), StandardCharsets.UTF_8), "it ran, with the agreed time");
    ApplicationLoader.LoadException durable = assertThrows(ApplicationLoader.LoadException.class, app::durableFactory);
    assertTrue(durable.getMessage().contains("keeps its state in memory"), durable.getMessage());
  }

  @Test
  void theJarManifestMayNameTheClass() throws Exception {
    Path jar = jar("com.example.Counter", COUNTER);
    assertEquals("com.example.Counter", ApplicationLoader.load(null, List.of(jar)).type().getName());
  }

  @Test
  void wrongApplicationsAreRefusedWithTheirReason() throws Exception {
    Path jar = jar(null, COUNTER, NO_DEFAULT_CONSTRUCTOR);
    assertTrue(message(() -> ApplicationLoader.load("com.example.Missing", List.of(jar)))
        .contains("application class com.example.Missing not found in"));
    assertTrue(message(() -> ApplicationLoader.load("java.lang.String", List.of()))
        .contains("does not implement io.pbft.replica.app.StateMachine"));
    assertTrue(message(() -> ApplicationLoader.load("com.example.Counter", List.of(dir.resolve("nope.jar"))))
        .contains("does not exist"));
    assertTrue(message(() -> ApplicationLoader.load(null, List.of(jar))).contains("names no application"));
    ApplicationLoader.Application needsArgs = ApplicationLoader.load("com.example.NeedsArgs", List.of(jar));
    assertTrue(message(needsArgs::newInMemory).contains("no public no-argument constructor"));
  }

  private static String message(Runnable r) {
    return assertThrows(ApplicationLoader.LoadException.class, r::run).getMessage();
  }
}
