package io.pbft.cli;

import io.pbft.chaos.traitor.Traitors;
import io.pbft.replica.app.ApplicationLoader;
import io.pbft.replica.app.DurableStateMachine;
import io.pbft.replica.app.StateMachine;
import io.pbft.replica.app.kv.RocksKvStateMachine;
import java.util.List;
import java.nio.file.Path;
import io.pbft.config.ClusterConfig;
import io.pbft.config.ConfigException;
import io.pbft.config.MetricsAddress;
import io.pbft.config.ReplicaInfo;
import io.pbft.crypto.Ed25519Keys;
import io.pbft.replica.app.kv.KvStateMachine;
import io.pbft.replica.node.Behaviour;
import io.pbft.replica.runtime.ReplicaServer;
import java.io.IOException;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code pbft replica}: runs one replica of the key-value store until SIGTERM or SIGINT.
 *
 * <p>Every option can also come from the environment (an option given on the command line wins),
 * so a container image needs no command line of its own: {@code PBFT_CONFIG}, {@code PBFT_ID},
 * {@code PBFT_LISTEN}, {@code PBFT_TRAITOR}, {@code PBFT_TRAITOR_SEED}, {@code PBFT_DATA_DIR} (empty: in memory),
 * {@code PBFT_METRICS}, {@code PBFT_APP_JAR}, {@code PBFT_APPLICATION}.
 *
 * <p>It replicates the key-value store unless {@code --application} (or {@code --app-jar} with a
 * jar whose manifest names one) gives another {@link io.pbft.replica.app.StateMachine}: see
 * docs/APPLICATIONS.md.
 */
@Command(name = "replica", mixinStandardHelpOptions = true,
    description = {"Run one replica of the replicated key-value store (or of your own application, "
        + "--app-jar/--application) until SIGTERM/SIGINT.",
        "Each option falls back to the environment variable named in its description."})
final class ReplicaCommand implements Callable<Integer> {
  private static final Logger log = LoggerFactory.getLogger(ReplicaCommand.class);

  @Option(names = "--config", paramLabel = "FILE", defaultValue = "${env:PBFT_CONFIG}",
      description = "The cluster.yaml written by keygen (env PBFT_CONFIG).")
  Path config;

  @Option(names = "--id", paramLabel = "I", defaultValue = "${env:PBFT_ID}",
      description = "This replica's id in the configuration (env PBFT_ID).")
  Integer id;

  @Option(names = "--listen", paramLabel = "HOST[:PORT]", defaultValue = "${env:PBFT_LISTEN}",
      description = {"Address to listen on instead of the configured one (env PBFT_LISTEN), e.g. 0.0.0.0 in a "
          + "container whose peers dial it by the host name in the configuration; the port defaults to the "
          + "configured one."})
  String listen;

  @Option(names = "--traitor", paramLabel = "NAME", defaultValue = "${env:PBFT_TRAITOR}",
      description = {"Run as a traitor for fault-injection experiments (env PBFT_TRAITOR): a behaviour from the "
          + "chaos catalogue, e.g. silent or equivocating-primary; several joined with '+' combine. "
          + "Default: honest."})
  String traitor;

  @Option(names = "--traitor-seed", paramLabel = "SEED", defaultValue = "${env:PBFT_TRAITOR_SEED}",
      description = "Seed of a traitor's random choices (env PBFT_TRAITOR_SEED; default 1).")
  Long traitorSeed;

  @Option(names = "--traitor-armed-by", paramLabel = "FILE", hidden = true,
      description = "Behave honestly until FILE exists, then as --traitor (pbft bench --fault uses it).")
  Path traitorArmedBy;

  @Option(names = "--data-dir", paramLabel = "DIR", defaultValue = "${env:PBFT_DATA_DIR}",
      description = {"Keep this replica's state in DIR (a write-ahead log and a RocksDB key-value store) so "
          + "that it survives crashes and restarts (env PBFT_DATA_DIR). Without it, state lives in memory and "
          + "a restarted replica recovers it from its peers."})
  Path dataDir;

  @Option(names = "--join", defaultValue = "${env:PBFT_JOIN:-false}",
      description = {"Start as the machine this replica was moved to, or as a replica added to the group (env "
          + "PBFT_JOIN=true): learn the running group's membership from its replicas (each change checked from "
          + "cluster.yaml's administration keys), listen at the address it names for this replica, with the key it "
          + "names (the configured key file, the one 'pbft keygen --add-to DIR --replacing I' wrote, or for a "
          + "replica cluster.yaml does not list the one 'pbft keygen --add-to DIR' wrote), and take the group's "
          + "state by state transfer. The data directory's state, if any, is resumed instead; a replica cluster.yaml "
          + "does not list always starts with --join. See docs/RECONFIGURATION.md."})
  boolean join;

  @Option(names = "--metrics", paramLabel = "[HOST:]PORT", defaultValue = "${env:PBFT_METRICS}",
      description = {"Serve Prometheus metrics at http://HOST:PORT/metrics instead of where this replica's entry in "
          + "the configuration says (env PBFT_METRICS); a bare port binds 127.0.0.1, 'off' serves none. "
          + "Default: the configuration's 'metrics', none if it has none."})
  String metrics;

  @Option(names = "--app-jar", paramLabel = "JAR", split = ",", defaultValue = "${env:PBFT_APP_JAR}",
      description = {"Jar(s) holding your application (env PBFT_APP_JAR, comma-separated): pbft's own classes "
          + "come from pbft itself. Without --application, the first jar's manifest attribute "
          + "Pbft-Application names the class."})
  List<Path> appJars;

  @Option(names = "--application", paramLabel = "CLASS", defaultValue = "${env:PBFT_APPLICATION}",
      description = {"Replicate this StateMachine class instead of the key-value store (env PBFT_APPLICATION): "
          + "made with its public no-argument constructor, or, with --data-dir, a DurableStateMachine made with "
          + "public static open(Path) or a public (Path) constructor. See docs/APPLICATIONS.md."})
  String application;

  /** How a replica makes its application: in memory, or durable in a directory. */
  record AppChoice(String name, java.util.function.Supplier<StateMachine> inMemory,
      java.util.function.Function<Path, DurableStateMachine> durable) {}

  /**
   * The key-value store, or the user's application named by {@code className} (or by the first
   * jar's manifest) from {@code jars}; for a replica with a data directory when {@code durable}.
   */
  static AppChoice applicationChoice(String className, List<Path> jars, boolean durable) {
    List<Path> given = jars == null ? List.of() : jars.stream().filter(p -> !p.toString().isBlank()).toList();
    boolean named = className != null && !className.isBlank();
    if (!named && given.isEmpty()) {
      return new AppChoice("key-value store", KvStateMachine::new, RocksKvStateMachine::open);
    }
    ApplicationLoader.Application app;
    try {
      app = ApplicationLoader.load(named ? className : null, given);
      if (durable) {
        return new AppChoice(app.type().getName(), null, app.durableFactory());
      }
      app.newInMemory(); // fails now, with its reason, rather than after the replica bound its port
    } catch (ApplicationLoader.LoadException e) {
      throw CliException.usage(e.getMessage());
    }
    return new AppChoice(app.type().getName(), app::newInMemory, null);
  }

  /**
   * The replica's key: the one {@code cluster.yaml} names, or, once that file is gone after a
   * rotation (an operator retires a leaked key, docs/RECONFIGURATION.md), the rotated key under
   * {@code replacements/replica-ID/} for a replica with a data directory, which must then be in an
   * epoch that names that key (the replica refuses to start otherwise).
   */
  static Ed25519Keys replicaKeys(ClusterConfig cfg, int id, Path dataDir) {
    ReplicaInfo me = cfg.replica(id);
    Path configured = me.keyFile() == null ? null : cfg.resolve(me.keyFile());
    Path rotated = io.pbft.config.ClusterSetup.replacementKeyFile(cfg, id);
    if (configured != null && !java.nio.file.Files.exists(configured) && dataDir != null
        && java.nio.file.Files.exists(rotated)) {
      log.info("replica {}: {} is gone; starting with the rotated key in {} (its data directory must be in an epoch "
          + "that names it)", id, configured, rotated);
      try {
        return io.pbft.config.KeyFiles.read(rotated);
      } catch (io.pbft.config.ConfigException e) {
        throw CliException.usage("replica " + id + ": " + e.getMessage());
      }
    }
    return cfg.replicaKeys(id);
  }

  /** How long {@code --join} waits for the group to reach an epoch that names this replica with a key held here. */
  @Option(names = "--join-wait", paramLabel = "SECONDS", defaultValue = "${env:PBFT_JOIN_WAIT:-600}",
      description = {"With --join: how long to wait for the group to reach an epoch that names this replica with a "
          + "key held here (env PBFT_JOIN_WAIT; default ${DEFAULT-VALUE}); the new machine may be started before "
          + "the change is submitted."})
  long joinWaitSeconds;

  /**
   * The later epoch the running group is in, for {@code --join}, once it names this replica with a
   * key held here: asked again every second until then, for at most {@code waitSeconds}.
   */
  static Joined joining(ClusterConfig cfg, int id, long waitSeconds) throws InterruptedException {
    log.info("replica {}: --join: asking the group's replicas for its membership (at the addresses {} names)", id,
        cfg.baseDir() == null ? "the configuration" : "cluster.yaml");
    long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(waitSeconds);
    long nextLog = System.nanoTime();
    String why;
    while (true) {
      io.pbft.client.GroupMembership.Learned learned =
          io.pbft.client.GroupMembership.learn(cfg, java.time.Duration.ofSeconds(3));
      io.pbft.config.Membership m = learned.membership();
      Ed25519Keys keys = null;
      if (learned.answered() == 0) {
        why = "no replica of the group answered (asked every address cluster.yaml names)";
      } else if (m.epoch() == 0) {
        why = "the group runs epoch 0, cluster.yaml's own membership";
      } else if (!m.hasMember(id)) {
        why = "epoch " + m.epoch() + " has no replica " + id + " (members " + m.ids() + ")";
      } else {
        keys = joinKeys(cfg, id, m.member(id).publicKey());
        why = keys == null ? "epoch " + m.epoch() + " names key " + io.pbft.crypto.Digests.hex(m.member(id).publicKey())
            .substring(0, 16) + "... for replica " + id + ", which is held neither in its configured key file nor in "
            + io.pbft.config.ClusterSetup.replacementKeyFile(cfg, id)
            : null;
      }
      if (!learned.refusals().isEmpty()) {
        log.warn("replica {}: --join: chains of changes that do not check, ignored past that point: {}", id,
            learned.refusals());
      }
      if (why == null) {
        log.info("replica {}: --join: the group runs epoch {} (since checkpoint {}, in view {}, by most of {} answers); "
            + "this replica is at {}", id, m.epoch(), learned.beganAt(), learned.view(), learned.answered(),
            m.member(id).address());
        return new Joined(new ReplicaServer.Joining(m, learned.view(), learned.beganAt()), keys);
      }
      if (System.nanoTime() - deadline >= 0) {
        throw CliException.failed("--join: gave up after " + waitSeconds + " s: " + why);
      }
      if (System.nanoTime() - nextLog >= 0) {
        log.info("replica {}: --join: waiting for the group to reach an epoch that names this replica: {}", id, why);
        nextLog = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
      }
      Thread.sleep(1000);
    }
  }

  /** What {@code --join} found: the epoch to join and this replica's key there. */
  record Joined(ReplicaServer.Joining joining, Ed25519Keys keys) {}

  /**
   * The private key of {@code publicKey} for replica {@code id}: the configured key file or the
   * replacement key {@code pbft keygen --add-to DIR --replacing ID} wrote, whichever holds it (null
   * for neither).
   */
  static Ed25519Keys joinKeys(ClusterConfig cfg, int id, byte[] publicKey) {
    List<Path> candidates = new java.util.ArrayList<>();
    String keyFile = cfg.hasReplica(id) ? cfg.replica(id).keyFile() : addedKeyFile(cfg, id);
    if (keyFile != null) {
      candidates.add(cfg.resolve(keyFile));
    }
    candidates.add(io.pbft.config.ClusterSetup.replacementKeyFile(cfg, id));
    for (Path file : candidates) {
      if (java.nio.file.Files.exists(file)) {
        try {
          Ed25519Keys k = io.pbft.config.KeyFiles.read(file);
          if (java.util.Arrays.equals(k.publicKey(), publicKey)) {
            return k;
          }
        } catch (io.pbft.config.ConfigException e) {
          throw CliException.usage("replica " + id + ": " + e.getMessage());
        }
      }
    }
    return null;
  }

  /**
   * The key file of replica {@code id}, which cluster.yaml does not list, as its entry {@code pbft
   * keygen --add-to DIR} wrote names it (null without that entry).
   */
  private static String addedKeyFile(ClusterConfig cfg, int id) {
    if (cfg.baseDir() == null) {
      return null;
    }
    Path entry = io.pbft.config.ClusterSetup.newReplicaFile(cfg.baseDir(), id);
    if (!java.nio.file.Files.exists(entry)) {
      return null;
    }
    try {
      return ClusterConfig.parseReplicaEntry(entry).keyFile();
    } catch (ConfigException e) {
      throw CliException.usage("replica " + id + ": " + e.getMessage());
    }
  }

  @Override
  public Integer call() throws InterruptedException {
    if (config == null) {
      throw CliException.usage("--config FILE is required (or set PBFT_CONFIG)");
    }
    if (id == null) {
      throw CliException.usage("--id I is required (or set PBFT_ID)");
    }
    if (dataDir != null && dataDir.toString().isBlank()) {
      dataDir = null; // PBFT_DATA_DIR= (set but empty, e.g. to override an image's default): in memory
    }
    AppChoice app = applicationChoice(application, appJars, dataDir != null);
    ClusterConfig loaded = Configs.load(config);
    // A replica added to the group after cluster.yaml was written: the file does not list it, and
    // it learns its place (and a restart its epoch) from the group.
    boolean added = !loaded.hasReplica(id);
    if (added && !join) {
      throw CliException.usage("no replica with id " + id + " in " + config + " (ids 0.." + (loaded.n() - 1) + "); a "
          + "replica added to the group at run time starts with --join, which learns its place from the group");
    }
    ClusterConfig cfg = added ? loaded : withMetrics(loaded, id, metrics);
    ReplicaInfo me = added ? null : cfg.replica(id);
    ReplicaServer.Joining joining = null;
    Ed25519Keys keys;
    if (join) {
      if (joinWaitSeconds < 0 || joinWaitSeconds > 7 * 86_400) {
        throw CliException.usage("--join-wait must be between 0 and 604800 seconds, got " + joinWaitSeconds);
      }
      Joined joined = joining(cfg, id, joinWaitSeconds);
      joining = joined.joining();
      if (added) {
        joining = new ReplicaServer.Joining(joining.membership(), joining.view(), joining.genesis(),
            metricsAddress(metrics));
      }
      me = joining.membership().member(id).toReplicaInfo();
      keys = joined.keys();
    } else {
      keys = null;
    }
    InetSocketAddress bind = listenAddress(listen, me);
    Behaviour behaviour = behaviour(traitor, cfg, id, traitorSeed == null ? 1L : traitorSeed);
    if (traitorArmedBy != null) {
      if (behaviour == Behaviour.HONEST) {
        throw CliException.usage("--traitor-armed-by needs --traitor NAME");
      }
      behaviour = new ArmedBehaviour(behaviour, traitorArmedBy);
    }
    if (keys == null) {
      keys = replicaKeys(cfg, id, dataDir);
    }
    String where = bind == null ? me.address() : bind.getHostString() + ":" + bind.getPort();
    ReplicaServer server;
    try {
      server = dataDir == null
          ? ReplicaServer.start(cfg, id, keys, app.inMemory().get(), behaviour, bind, joining)
          : ReplicaServer.startDurable(cfg, id, keys, behaviour, bind, dataDir, app.durable(),
              io.pbft.replica.storage.WriteAheadLog.Options.defaults(), joining);
    } catch (io.pbft.replica.storage.StorageException e) {
      throw new CliException(CliException.USAGE, "replica " + id + ": " + e.getMessage(), e);
    } catch (IOException e) {
      if (e instanceof ReplicaServer.MetricsUnavailableException) {
        throw new CliException(CliException.FAILED, "replica " + id + ": " + e.getMessage(), e);
      }
      if (addressInUse(e)) {
        throw new CliException(CliException.FAILED, "address " + where + " already in use", e);
      }
      throw new CliException(CliException.FAILED, "cannot start replica " + id + " on " + where + ": "
          + e.getMessage(), e);
    }
    log.info("replica {} replicates {}", id, app.name());
    if (bind != null) {
      log.info("replica {} listens on {}; peers and clients reach it at {}", id, where, me.address());
    }
    if (behaviour != Behaviour.HONEST) {
      log.warn("replica {} runs as a TRAITOR: {}", id, behaviour.name());
    }
    // close() is graceful (drains calls, then forces); the JVM waits for hooks before exiting.
    Runtime.getRuntime().addShutdownHook(new Thread(server::close, "pbft-replica-shutdown"));
    server.awaitTermination();
    if (server.departed() != null) {
      log.info("replica {}: {}; this process stopped", id, server.departed());
      return 0;
    }
    if (server.fatalError() != null) {
      // A broken invariant: exit non-zero with the reason so that a supervisor restarts the
      // replica and recovery runs from its data directory.
      throw new CliException(CliException.BROKEN, "replica " + id + " stopped: internal invariant broken: "
          + server.fatalError().getMessage(), server.fatalError());
    }
    return 0;
  }

  /**
   * {@code HOST}, {@code HOST:PORT}, {@code :PORT} or {@code [v6]:PORT}; null (or blank) for the
   * configured address. A missing host or port is taken from the configuration.
   */
  static InetSocketAddress listenAddress(String spec, ReplicaInfo me) {
    if (spec == null || spec.isBlank()) {
      return null;
    }
    String s = spec.strip();
    String host = s;
    int port = me.port();
    int colon = s.lastIndexOf(':');
    boolean bracketed = s.startsWith("[");
    if (colon >= 0 && (!bracketed || colon > s.indexOf(']')) && (bracketed || s.indexOf(':') == colon)) {
      host = s.substring(0, colon);
      String p = s.substring(colon + 1);
      try {
        port = Integer.parseInt(p);
      } catch (NumberFormatException e) {
        throw CliException.usage("--listen: port in '" + spec + "' is not a number");
      }
      if (port < 0 || port > 65535) {
        throw CliException.usage("--listen: port " + port + " is out of range");
      }
    }
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    if (host.isEmpty()) {
      host = me.host();
    }
    return new InetSocketAddress(host, port);
  }

  /** {@code cfg} with replica {@code id}'s metrics endpoint as {@code --metrics} says (null or blank: as configured). */
  static ClusterConfig withMetrics(ClusterConfig cfg, int id, String spec) {
    if (spec == null || spec.isBlank()) {
      return cfg;
    }
    cfg.replica(id); // an unknown id is reported as such, not as a metrics problem
    MetricsAddress address;
    try {
      address = spec.strip().equalsIgnoreCase("off") ? null : MetricsAddress.parse(spec);
    } catch (ConfigException e) {
      throw CliException.usage("--" + e.getMessage());
    }
    try {
      return cfg.withMetrics(i -> i == id ? address : cfg.replica(i).metrics());
    } catch (ConfigException e) {
      throw CliException.usage("--metrics " + spec.strip() + ": " + e.getMessage());
    }
  }

  /** The endpoint {@code --metrics} names for a replica cluster.yaml does not list (none if it names none). */
  private static MetricsAddress metricsAddress(String spec) {
    if (spec == null || spec.isBlank() || spec.strip().equalsIgnoreCase("off")) {
      return null;
    }
    try {
      return MetricsAddress.parse(spec);
    } catch (ConfigException e) {
      throw CliException.usage("--" + e.getMessage());
    }
  }

  static Behaviour behaviour(String name, ClusterConfig cfg, int id, long seed) {
    if (name == null || name.isBlank()) {
      return Behaviour.HONEST;
    }
    try {
      return Traitors.create(name.strip(), new Traitors.Context(id, cfg.n(), cfg.f(), seed,
          cfg.protocol().viewChangeTimeoutMs(), java.util.Set.of()));
    } catch (IllegalArgumentException e) {
      throw CliException.usage("--traitor: " + e.getMessage());
    }
  }

  /**
   * Netty's native (epoll) transport reports EADDRINUSE as its own IOException subclass, not as
   * java.net.BindException, so the message is checked as well.
   */
  private static boolean addressInUse(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause()) {
      if (c instanceof BindException
          || (c.getMessage() != null && c.getMessage().contains("Address already in use"))) {
        return true;
      }
    }
    return false;
  }
}
