package io.pbft.examples.lock;

import io.pbft.client.PbftClient;
import io.pbft.config.ClusterConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A small command line for the lock service, run with the pbft jar on the class path:
 *
 * <pre>
 * java -cp cli/target/pbft.jar:examples/target/pbft-examples-0.1.0-SNAPSHOT.jar \
 *     io.pbft.examples.lock.LockCli --config cluster/cluster.yaml --client 0 acquire build-lock alice 10000
 * </pre>
 *
 * Commands: {@code acquire LOCK OWNER TTL_MS}, {@code renew LOCK LEASE_ID TTL_MS},
 * {@code release LOCK LEASE_ID}, {@code holder LOCK}. Prints the service's result; exits 0 on an
 * answer, 2 on bad usage, 1 if the cluster gave none.
 */
public final class LockCli {
  private LockCli() {}

  public static void main(String[] args) {
    Path config = null;
    int clientId = 0;
    List<String> words = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--config" -> config = Path.of(value(args, ++i));
        case "--client" -> clientId = Integer.parseInt(value(args, ++i));
        default -> words.add(args[i]);
      }
    }
    if (config == null || words.isEmpty()) {
      System.err.println("usage: LockCli --config FILE [--client ID] (acquire LOCK OWNER TTL_MS | renew LOCK LEASE_ID "
          + "TTL_MS | release LOCK LEASE_ID | holder LOCK)");
      System.exit(2);
    }
    ClusterConfig cfg = ClusterConfig.load(config);
    PbftClient client = PbftClient.newBuilder().config(cfg).clientId(clientId)
        .clientCertificate(cfg.tls().enabled() && cfg.tlsFilesPresent(cfg.tls().clientFiles(clientId)))
        .operationTimeout(Duration.ofSeconds(20)).build();
    try (LockClient locks = new LockClient(client, true)) {
      System.out.println(locks.raw(String.join(" ", words)));
    } catch (RuntimeException e) {
      System.err.println("no answer from the cluster: " + e.getMessage());
      System.exit(1);
    }
    System.exit(0);
  }

  private static String value(String[] args, int i) {
    if (i >= args.length) {
      throw new IllegalArgumentException(args[i - 1] + " needs a value");
    }
    return args[i];
  }
}
