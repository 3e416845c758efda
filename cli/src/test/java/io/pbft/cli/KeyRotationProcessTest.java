package io.pbft.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.cli.cluster.ProcessCluster;
import io.pbft.client.KvClient;
import io.pbft.config.Administration;
import io.pbft.config.AdministrationKey;
import io.pbft.config.KeyFiles;
import io.pbft.crypto.Ed25519Keys;
import io.pbft.proto.StatusResponse;
import io.pbft.testkit.Polling;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Black box over four {@code pbft replica --data-dir} processes, driven by the commands the README
 * gives: keys rotate at run time under load. {@code keygen --add-to --replacing} prepares replica
 * 2's next key, {@code admin rotate-key}, {@code sign} (twice: two of three administrators) and
 * {@code submit --wait} change the group, then replica 0's key in a second change built {@code
 * --from-group} (the membership the running group reports, checked from cluster.yaml). Every
 * acknowledged write reads back, every replica reports the last epoch with the same state, and the
 * rotated replica killed and restarted from its data directory, its old key file deleted, comes back
 * in that epoch and agrees;
 * {@code pbft status} names the rotated keys, and {@code pbft kv} with the unchanged cluster.yaml
 * still works (the client follows the chain of changes).
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class KeyRotationProcessTest {
  private final SecureRandom random = new SecureRandom();

  private static Run run(String... args) {
    Run r = Run.of(args);
    assertEquals(0, r.exitCode(), () -> String.join(" ", args) + "\n" + r);
    return r;
  }

  /**
   * Prepares, signs and submits the rotation of {@code id}'s key ({@code base}: how admin finds
   * the current membership); returns the command file.
   */
  private static Path rotate(Path dir, int id, List<String> base, Path admin0, Path admin1) {
    Path yaml = dir.resolve("cluster.yaml");
    run("keygen", "--add-to", dir.toString(), "--replacing", Integer.toString(id));
    Path command = dir.resolve("rotate-" + id + ".cmd");
    List<String> args = new ArrayList<>(List.of("admin", "rotate-key", "--config", yaml.toString(), "--id",
        Integer.toString(id), "--entry", dir.resolve("replacement-replica-" + id + ".yaml").toString(),
        "--out", command.toString()));
    args.addAll(base);
    Run made = run(args.toArray(String[]::new));
    assertTrue(made.out().contains("the command names the TLS certificate in ") || made.err().contains(
        "the command names the TLS certificate in "), made::toString);
    for (Path key : List.of(admin0, admin1)) {
      List<String> sign = new ArrayList<>(List.of("admin", "sign", "--config", yaml.toString(), "--key",
          key.toString(), command.toString()));
      sign.addAll(base);
      run(sign.toArray(String[]::new));
    }
    Run submitted = run("admin", "submit", "--config", yaml.toString(), "--client", "3", "--wait", "--timeout", "120",
        command.toString());
    assertTrue(submitted.out().contains("reconfiguration accepted"), submitted::toString);
    assertTrue(submitted.out().contains("every replica runs epoch"), submitted::toString);
    System.out.println("[rotation] replica " + id + ": " + submitted.out().trim().replace('\n', ' '));
    return command;
  }

  /** The certificate a TLS server shows a new connection (no client certificate, any issuer accepted here). */
  static java.security.cert.X509Certificate served(String host, int port) throws Exception {
    javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLS");
    ctx.init(null, new javax.net.ssl.TrustManager[] {new javax.net.ssl.X509TrustManager() {
      @Override
      public void checkClientTrusted(java.security.cert.X509Certificate[] chain, String authType) {}

      @Override
      public void checkServerTrusted(java.security.cert.X509Certificate[] chain, String authType) {}

      @Override
      public java.security.cert.X509Certificate[] getAcceptedIssuers() {
        return new java.security.cert.X509Certificate[0];
      }
    }}, null);
    try (javax.net.ssl.SSLSocket s = (javax.net.ssl.SSLSocket) ctx.getSocketFactory().createSocket(host, port)) {
      s.setSoTimeout(5000);
      s.startHandshake();
      return (java.security.cert.X509Certificate) s.getSession().getPeerCertificates()[0];
    }
  }

  @Test
  void keysRotateUnderLoadThroughTheCommandLineAndNothingAcknowledgedIsLost() throws Exception {
    Ed25519Keys a0 = Ed25519Keys.generate(random);
    Ed25519Keys a1 = Ed25519Keys.generate(random);
    Ed25519Keys a2 = Ed25519Keys.generate(random);
    Administration admins = new Administration(List.of(new AdministrationKey(a0.publicKey()),
        new AdministrationKey(a1.publicKey()), new AdministrationKey(a2.publicKey())), 2);
    try (ProcessCluster cluster = ProcessCluster.create("rotation", 4, p -> p.withCheckpointInterval(16)
        .withWindowSize(64)).withAdministration(admins).start()) {
      Path dir = cluster.config().baseDir();
      Path admin0 = dir.resolve("admin-a.key");
      Path admin1 = dir.resolve("admin-b.key");
      KeyFiles.write(admin0, a0);
      KeyFiles.write(admin1, a1);

      io.pbft.testkit.PutLoad load = new io.pbft.testkit.PutLoad(List.of(cluster.kvClient(0), cluster.kvClient(1)), 40);
      Map<String, String> acknowledged = load.acknowledged;
      try {
        rotate(dir, 2, List.of(), admin0, admin1);
        rotate(dir, 0, List.of("--from-group"), admin0, admin1);
      } finally {
        load.close();
      }
      assertTrue(acknowledged.size() >= 40, "the load ran throughout: " + acknowledged.size() + " keys");

      // The rotated replica, killed and restarted from its data directory, resumes epoch 2, with
      // its old key retired: the file cluster.yaml names is gone, and it starts with the rotated one.
      cluster.kill(2);
      java.nio.file.Files.delete(cluster.config().resolve(cluster.config().replica(2).keyFile()));
      cluster.restart(2);
      KvClient check = cluster.kvClient(3);
      for (int i = 0; i < 20; i++) {
        check.put("after-restart/" + i, Integer.toString(i));
      }
      List<StatusResponse> all = Polling.until(cluster::statuses, s -> s.stream().allMatch(r -> r.getEpoch() == 2)
          && s.stream().allMatch(r -> r.getLastExecuted() == s.get(0).getLastExecuted()
              && r.getStateDigest().equals(s.get(0).getStateDigest())), Duration.ofSeconds(90));
      assertTrue(all.stream().allMatch(r -> r.getEpoch() == 2), ProcessCluster.describe(all));
      assertTrue(all.stream().allMatch(r -> r.getStateDigest().equals(all.get(0).getStateDigest())),
          ProcessCluster.describe(all));
      for (StatusResponse s : all) {
        assertEquals(0L, s.getDropped().getByReasonOrDefault("bad signature", 0L), ProcessCluster.describe(all));
      }
      acknowledged.forEach((key, value) -> assertEquals(value, check.get(key).orElse(null),
          "acknowledged write of " + key + " lost"));

      // The command line with the unchanged cluster.yaml: status shows the rotated keys, checked
      // from the file, and a new client's sessions come up under them.
      String yaml = dir.resolve("cluster.yaml").toString();
      Run status = run("status", "--config", yaml);
      assertTrue(status.out().contains("epoch 2: replicas 0, 1, 2, 3, f = 1 (membership digest "), status::toString);
      assertTrue(status.out().contains("reached from the configuration file by 2 signed changes, each checked)"),
          status::toString);
      assertEquals(2, status.out().lines().filter(l -> l.endsWith("(rotated since the configuration file)")).count(),
          status::toString);
      assertTrue(status.out().lines().anyMatch(l -> l.startsWith("  replica 0 at ") && l.endsWith("(rotated since the"
          + " configuration file)")), status::toString);
      com.fasterxml.jackson.databind.JsonNode json = new com.fasterxml.jackson.databind.ObjectMapper()
          .readTree(run("status", "--config", yaml, "--json").out()).get("membership");
      assertEquals(2, json.get("epoch").asLong(), json::toString);
      assertTrue(json.get("members").get(0).get("rotated").asBoolean() && json.get("members").get(2).get("rotated")
          .asBoolean() && !json.get("members").get(1).get("rotated").asBoolean(), json::toString);
      run("kv", "--config", yaml, "--client", "2", "put", "colour", "blue");
      assertEquals("blue", run("kv", "--config", yaml, "--client", "2", "get", "colour").out().trim());
      // An embedded client with the library's defaults presents no TLS certificate, so Status is
      // closed to it: it follows through the Membership RPC, open to every caller.
      try (io.pbft.client.PbftClient plain = io.pbft.client.PbftClient.newBuilder().config(cluster.config())
          .clientId(1).operationTimeout(Duration.ofSeconds(60)).build();
          KvClient kv = KvClient.borrowing(plain)) {
        kv.put("plain", "client");
        assertEquals("client", kv.get("plain").orElseThrow());
        Polling.until(plain::membership, m -> m.epoch() == 2, Duration.ofSeconds(30));
        assertEquals(2, plain.membership().epoch());
      }

      // TLS rotated with the keys: each rotated replica shows new connections the certificate
      // keygen --replacing issued (replica 2 after its restart too), the others their own still.
      io.pbft.config.ClusterConfig cfg = cluster.config();
      for (int id = 0; id < 4; id++) {
        Path current = cfg.resolve(cfg.tls().replicaFiles(id).certFile());
        Path next = io.pbft.config.ClusterSetup.replacementDir(dir, id).resolve(cfg.tls().replicaFiles(id).certFile());
        Path expected = id == 0 || id == 2 ? next : current;
        byte[] served = served(cfg.replica(id).host(), cfg.replica(id).port()).getEncoded();
        assertTrue(java.util.Arrays.equals(io.pbft.crypto.tls.Pem.readCertificates(expected).get(0).getEncoded(), served),
            "replica " + id + " serves another certificate than " + expected);
      }
    }
  }
}
