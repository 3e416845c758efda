package io.pbft.replica.app;

import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.jar.JarFile;
import java.util.jar.Manifest;

/**
 * Loads a user's {@link StateMachine} by class name, from jars (or class directories) given at
 * start-up or from the class path, for {@code pbft replica --app-jar JAR --application CLASS}.
 *
 * <p>The class must be public and implement {@link StateMachine}; a replica keeping its state in
 * memory makes it with its public no-argument constructor. A replica with a data directory needs
 * a {@link DurableStateMachine}, made with a public static {@code open(Path)} method or a public
 * constructor taking the {@code Path} of the directory it may keep its files in. Without a class
 * name, the first jar's manifest may name it ({@code Pbft-Application: com.example.MyService}).
 */
public final class ApplicationLoader {
  /** The manifest attribute that names a jar's application class. */
  public static final String MANIFEST_ATTRIBUTE = "Pbft-Application";

  /** Why an application could not be loaded; its message says what to fix. */
  public static final class LoadException extends RuntimeException {
    LoadException(String message, Throwable cause) {
      super(message, cause);
    }

    LoadException(String message) {
      super(message);
    }
  }

  /** A loaded application class: instances for a replica in memory, or a factory for a durable one. */
  public record Application(Class<? extends StateMachine> type) {
    /** A new instance for a replica that keeps its state in memory. */
    public StateMachine newInMemory() {
      Constructor<? extends StateMachine> c;
      try {
        c = type.getConstructor();
      } catch (NoSuchMethodException e) {
        throw new LoadException("application " + type.getName() + " has no public no-argument constructor", e);
      }
      return instantiate(() -> c.newInstance());
    }

    /** Whether a replica with a data directory can run it: it is a {@link DurableStateMachine}. */
    public boolean durable() {
      return DurableStateMachine.class.isAssignableFrom(type);
    }

    /** The factory a durable replica opens it with, given the directory it may keep its files in. */
    public Function<Path, DurableStateMachine> durableFactory() {
      if (!durable()) {
        throw new LoadException("application " + type.getName() + " keeps its state in memory (it is not a "
            + DurableStateMachine.class.getName() + "): run the replica without a data directory");
      }
      try {
        Method open = type.getMethod("open", Path.class);
        if (Modifier.isStatic(open.getModifiers()) && DurableStateMachine.class.isAssignableFrom(open.getReturnType())) {
          return dir -> instantiate(() -> (DurableStateMachine) open.invoke(null, dir));
        }
      } catch (NoSuchMethodException e) {
        // try the constructor
      }
      try {
        Constructor<? extends StateMachine> c = type.getConstructor(Path.class);
        return dir -> instantiate(() -> (DurableStateMachine) c.newInstance(dir));
      } catch (NoSuchMethodException e) {
        throw new LoadException("durable application " + type.getName() + " needs a public static open(Path) "
            + "method or a public constructor taking a Path", e);
      }
    }
  }

  private interface Maker<T> {
    T make() throws ReflectiveOperationException;
  }

  private static <T> T instantiate(Maker<T> maker) {
    try {
      return maker.make();
    } catch (InvocationTargetException e) {
      throw new LoadException("the application's constructor failed: " + e.getCause(), e.getCause());
    } catch (ReflectiveOperationException e) {
      throw new LoadException("cannot make the application: " + e, e);
    }
  }

  private ApplicationLoader() {}

  /** Loads {@code className} from {@code jars} (may be empty: the class path) over this class's loader. */
  public static Application load(String className, List<Path> jars) {
    return load(className, jars, ApplicationLoader.class.getClassLoader());
  }

  /**
   * Loads {@code className} (null: the first jar's {@value #MANIFEST_ATTRIBUTE}) from {@code jars}
   * with {@code parent} for everything else, pbft's own classes included.
   *
   * @throws LoadException if a jar is missing, the class is not found, or is not a StateMachine
   */
  public static Application load(String className, List<Path> jars, ClassLoader parent) {
    List<URL> urls = new ArrayList<>();
    for (Path jar : jars) {
      if (!Files.exists(jar)) {
        throw new LoadException("application jar " + jar + " does not exist");
      }
      try {
        urls.add(jar.toUri().toURL());
      } catch (MalformedURLException e) {
        throw new LoadException("application jar " + jar + " is not a usable path", e);
      }
    }
    String name = className == null || className.isBlank() ? fromManifest(jars) : className.strip();
    ClassLoader loader = urls.isEmpty() ? parent : new URLClassLoader("pbft-application", urls.toArray(URL[]::new),
        parent);
    Class<?> type;
    try {
      type = Class.forName(name, false, loader);
    } catch (ClassNotFoundException | LinkageError e) {
      throw new LoadException("application class " + name + " not found " + (jars.isEmpty() ? "on the class path"
          : "in " + jars + " or on the class path") + (e instanceof LinkageError ? ": " + e : ""), e);
    }
    if (!StateMachine.class.isAssignableFrom(type)) {
      throw new LoadException("application class " + name + " does not implement " + StateMachine.class.getName());
    }
    if (!Modifier.isPublic(type.getModifiers()) || Modifier.isAbstract(type.getModifiers())) {
      throw new LoadException("application class " + name + " must be public and not abstract");
    }
    return new Application(type.asSubclass(StateMachine.class));
  }

  private static String fromManifest(List<Path> jars) {
    if (jars.isEmpty() || Files.isDirectory(jars.get(0))) {
      throw new LoadException("name the application class (--application CLASS)");
    }
    try (JarFile jar = new JarFile(jars.get(0).toFile())) {
      Manifest m = jar.getManifest();
      String name = m == null ? null : m.getMainAttributes().getValue(MANIFEST_ATTRIBUTE);
      if (name == null || name.isBlank()) {
        throw new LoadException("jar " + jars.get(0) + " names no application (manifest attribute "
            + MANIFEST_ATTRIBUTE + "): name the class with --application CLASS");
      }
      return name.strip();
    } catch (IOException e) {
      throw new LoadException("cannot read jar " + jars.get(0) + ": " + e.getMessage(), e);
    }
  }
}
