package io.pbft.config;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pbft.crypto.Digests;
import io.pbft.crypto.Ed25519Keys;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClusterConfigTest {
  @TempDir
  Path dir;

  /** A deterministic key pair per index, so the YAML below is stable. */
  private static Ed25519Keys keys(int index) {
    byte[] secret = new byte[Ed25519Keys.SECRET_KEY_BYTES];
    Arrays.fill(secret, (byte) (index + 1));
    return Ed25519Keys.fromSecretKey(secret);
  }

  private static String key(int index) {
    return Digests.hex(keys(index).publicKey());
  }

  private static String replica(int id, String address, int keyIndex) {
    return "  - id: " + id + "\n    address: " + address + "\n    publicKey: " + key(keyIndex) + "\n";
  }

  /** n replicas 0..n-1 on localhost:7000+i, plus {@code extra} YAML at the top level. */
  private static String yaml(int n, String extra) {
    StringBuilder s = new StringBuilder(extra).append("replicas:\n");
    for (int i = 0; i < n; i++) {
      s.append(replica(i, "localhost:" + (7000 + i), i));
    }
    return s.toString();
  }

  private static ConfigException rejects(String yaml) {
    return assertThrows(ConfigException.class, () -> ClusterConfig.parse(yaml, null));
  }

  private static void assertMessageContains(ConfigException e, String... parts) {
    for (String part : parts) {
      assertTrue(e.getMessage().contains(part), "message '" + e.getMessage() + "' lacks '" + part + "'");
    }
  }

  // ---------------------------------------------------------------- accepted

  @Test
  void minimalConfigurationDerivesFAndUsesDefaults() {
    ClusterConfig c = ClusterConfig.parse(yaml(4, ""), null);
    assertEquals(4, c.n());
    assertEquals(1, c.f());
    assertEquals("localhost", c.replica(2).host());
    assertEquals(7002, c.replica(2).port());
    assertArrayEquals(keys(2).publicKey(), c.replica(2).publicKey());
    assertTrue(c.clients().isEmpty());
    assertEquals(ProtocolSettings.defaults(), c.protocol());
    assertEquals(TransportSettings.defaults(), c.transport());
  }

  @Test
  void derivedFIsTheLargestThatNAllows() {
    assertEquals(0, ClusterConfig.faultsTolerated(1));
    assertEquals(0, ClusterConfig.faultsTolerated(3));
    assertEquals(1, ClusterConfig.faultsTolerated(4));
    assertEquals(1, ClusterConfig.faultsTolerated(6));
    assertEquals(2, ClusterConfig.faultsTolerated(7));
  }

  @Test
  void explicitFSmallerThanTheMaximumIsKept() {
    assertEquals(0, ClusterConfig.parse(yaml(4, "f: 0\n"), null).f());
  }

  @Test
  void partialProtocolSectionKeepsDefaultsForTheOtherFields() {
    ClusterConfig c = ClusterConfig.parse(yaml(4, "protocol:\n  windowSize: 2048\n  batchSizeMax: 10\n"), null);
    ProtocolSettings defaults = ProtocolSettings.defaults();
    assertEquals(2048, c.protocol().windowSize());
    assertEquals(10, c.protocol().batchSizeMax());
    assertEquals(defaults.batchBytesMax(), c.protocol().batchBytesMax());
    assertEquals(defaults.pipelineDepthMax(), c.protocol().pipelineDepthMax());
    assertEquals(defaults.checkpointInterval(), c.protocol().checkpointInterval());
    assertEquals(defaults.pendingRequestsMax(), c.protocol().pendingRequestsMax());
    assertEquals(defaults.operationBytesMax(), c.protocol().operationBytesMax());
    assertEquals(TransportSettings.defaults(), c.transport());
  }

  @Test
  void partialTransportSectionKeepsDefaultsForTheOtherFields() {
    ClusterConfig c = ClusterConfig.parse(yaml(4, "transport:\n  verifyThreads: 3\n"), null);
    assertEquals(3, c.transport().verifyThreads());
    assertEquals(TransportSettings.defaults().peerQueueMax(), c.transport().peerQueueMax());
    assertEquals(ProtocolSettings.defaults(), c.protocol());
  }

  @Test
  void clientsAreParsedAndLookedUpById() {
    String yaml = yaml(4, "") + "clients:\n  - id: 5\n    publicKey: " + key(10) + "\n    keyFile: keys/c5.key\n";
    ClusterConfig c = ClusterConfig.parse(yaml, null);
    assertArrayEquals(keys(10).publicKey(), c.client(5).publicKey());
    assertEquals("keys/c5.key", c.client(5).keyFile());
    assertThrows(ConfigException.class, () -> c.client(0));
    assertThrows(ConfigException.class, () -> c.replica(4));
  }

  @Test
  void authenticationIsMacsUnlessTheFileSaysSignatures() {
    assertEquals(Authentication.MACS, ClusterConfig.parse(yaml(4, ""), null).authentication());
    assertEquals(Authentication.MACS, ClusterConfig.parse(yaml(4, "authentication: macs\n"), null).authentication());
    ClusterConfig signed = ClusterConfig.parse(yaml(4, "authentication: signatures\n"), null);
    assertEquals(Authentication.SIGNATURES, signed.authentication());
    assertEquals(Authentication.SIGNATURES, ClusterConfig.parse(signed.toYaml(), null).authentication());
  }

  @Test
  void anUnknownAuthenticationIsRefusedByName() {
    assertMessageContains(rejects(yaml(4, "authentication: hmac\n")), "authentication", "'macs' or 'signatures'", "hmac");
    assertMessageContains(rejects(yaml(4, "authentication: 3\n")), "authentication");
  }

  @Test
  void overridesChangeOneValueEachAndAreCheckedLikeTheFile() {
    ClusterConfig c = ClusterConfig.parse(yaml(4, ""), null).withOverrides(
        java.util.List.of("authentication=signatures", "protocol.pipelineDepthMax=2", "transport.verifyThreads=1"));
    assertEquals(Authentication.SIGNATURES, c.authentication());
    assertEquals(2, c.protocol().pipelineDepthMax());
    assertEquals(1, c.transport().verifyThreads());
    ClusterConfig base = ClusterConfig.parse(yaml(4, ""), null);
    assertMessageContains(assertThrows(ConfigException.class,
        () -> base.withOverrides(java.util.List.of("protocol.noSuchThing=1"))), "protocol.noSuchThing");
    assertMessageContains(assertThrows(ConfigException.class,
        () -> base.withOverrides(java.util.List.of("protocol.pipelineDepthMax=0"))), "protocol.pipelineDepthMax");
    assertMessageContains(assertThrows(ConfigException.class,
        () -> base.withOverrides(java.util.List.of("protocol.pipelineDepthMax"))), "KEY=VALUE");
    assertMessageContains(assertThrows(ConfigException.class,
        () -> base.withOverrides(java.util.List.of("protocol.windowSize=100"))), "checkpointInterval");
  }

  @Test
  void votesCarryMacsUnlessSignaturesModeAsksForSignedVotes() {
    ClusterConfig macs = ClusterConfig.parse(yaml(4, ""), null);
    assertTrue(macs.peerMacs(), "MACs by default");
    assertTrue(macs.withOverrides(java.util.List.of("protocol.signedVotes=1")).peerMacs(),
        "under authentication: macs the votes carry MACs whatever signedVotes says");
    ClusterConfig signatures = ClusterConfig.parse(yaml(4, "authentication: signatures\n"), null);
    assertTrue(signatures.peerMacs(), "signed requests, MAC'd votes by default");
    assertFalse(signatures.withOverrides(java.util.List.of("protocol.signedVotes=true")).peerMacs());
    assertFalse(ClusterConfig.parse(yaml(4, "authentication: signatures\nprotocol:\n  signedVotes: 1\n"), null)
        .peerMacs());
    assertMessageContains(rejects(yaml(4, "protocol:\n  signedVotes: 2\n")), "protocol.signedVotes");
  }

  @Test
  void aSwitchReadsTrueAndFalseAsWellAs1And0AndNothingElse() {
    assertTrue(ClusterConfig.parse(yaml(4, "protocol:\n  tentativeExecution: true\n"), null).protocol()
        .tentativeExecution());
    assertTrue(ClusterConfig.parse(yaml(4, "protocol:\n  tentativeExecution: 1\n"), null).protocol()
        .tentativeExecution());
    assertFalse(ClusterConfig.parse(yaml(4, ""), null).protocol().tentativeExecution(), "off by default");
    ClusterConfig base = ClusterConfig.parse(yaml(4, ""), null);
    assertTrue(base.withOverrides(java.util.List.of("protocol.tentativeExecution=true")).protocol().tentativeExecution());
    assertFalse(base.withOverrides(java.util.List.of("protocol.tentativeExecution=false")).protocol()
        .tentativeExecution());
    assertMessageContains(rejects(yaml(4, "protocol:\n  tentativeExecution: yes please\n")),
        "protocol.tentativeExecution");
    assertMessageContains(rejects(yaml(4, "protocol:\n  tentativeExecution: 2\n")), "protocol.tentativeExecution");
    // Other settings take no booleans.
    assertMessageContains(rejects(yaml(4, "protocol:\n  windowSize: true\n")), "protocol.windowSize");
  }

  @Test
  void toYamlParsesBackToTheSameConfiguration() {
    String yaml = yaml(4, "f: 1\nprotocol:\n  windowSize: 512\n")
        + "clients:\n  - id: 0\n    publicKey: " + key(9) + "\n";
    ClusterConfig original = ClusterConfig.parse(yaml, null);
    ClusterConfig again = ClusterConfig.parse(original.toYaml(), null);
    assertEquals(original.n(), again.n());
    assertEquals(original.f(), again.f());
    assertEquals(original.protocol(), again.protocol());
    assertEquals(original.transport(), again.transport());
    for (int i = 0; i < 4; i++) {
      assertEquals(original.replica(i).address(), again.replica(i).address());
      assertArrayEquals(original.replica(i).publicKey(), again.replica(i).publicKey());
    }
    assertArrayEquals(original.client(0).publicKey(), again.client(0).publicKey());
  }

  /** n replicas on localhost:7000+i, replica i with {@code metrics: metrics[i]} (null: none). */
  private static String yamlWithMetrics(String... metrics) {
    StringBuilder s = new StringBuilder("replicas:\n");
    for (int i = 0; i < metrics.length; i++) {
      s.append(replica(i, "localhost:" + (7000 + i), i));
      if (metrics[i] != null) {
        s.append("    metrics: ").append(metrics[i]).append('\n');
      }
    }
    return s.toString();
  }

  @Test
  void metricsAreOffUnlessAReplicaAsksAndABarePortBindsLoopback() {
    ClusterConfig c = ClusterConfig.parse(yamlWithMetrics("9100", "0.0.0.0:9101", "'[::1]:9102'", null), null);
    assertEquals(new MetricsAddress("127.0.0.1", 9100), c.replica(0).metrics());
    assertEquals(new MetricsAddress("0.0.0.0", 9101), c.replica(1).metrics());
    assertEquals(new MetricsAddress("::1", 9102), c.replica(2).metrics());
    assertEquals("[::1]:9102", c.replica(2).metrics().toString());
    assertNull(c.replica(3).metrics());
    ClusterConfig again = ClusterConfig.parse(c.toYaml(), null);
    for (int i = 0; i < 4; i++) {
      assertEquals(c.replica(i).metrics(), again.replica(i).metrics(), "replica " + i + " after toYaml");
    }
    assertEquals(c.replica(1).metrics(), c.withMetrics(i -> c.replica(i).metrics()).replica(1).metrics());
    assertNull(c.withMetrics(i -> null).replica(0).metrics());
  }

  @Test
  void badMetricsAddressesAreRejectedByReplica() {
    assertMessageContains(rejects(yamlWithMetrics(null, "nope", null, null)), "replicas[1]", "metrics",
        "not a number");
    assertMessageContains(rejects(yamlWithMetrics("70000", null, null, null)), "replicas[0]", "out of range");
    assertMessageContains(rejects(yamlWithMetrics("::1:80", null, null, null)), "IPv6", "brackets");
    assertMessageContains(rejects(yamlWithMetrics("[1, 2]", null, null, null)), "PORT or HOST:PORT");
    // Replicas listed at one host share its ports: a metrics port used twice there, or one a
    // replica listens on, cannot bind.
    assertMessageContains(rejects(yamlWithMetrics("9100", "9100", null, null)), "replica 1", "9100",
        "used twice at localhost");
    assertMessageContains(rejects(yamlWithMetrics(null, null, "7001", null)), "replica 2", "7001",
        "port of a replica");
    ClusterConfig.parse(yamlWithMetrics("0", "0", null, null), null); // any free port, each
  }

  // ---------------------------------------------------------------- rejected

  @Test
  void tooFewReplicasForAnExplicitFIsRejected() {
    assertMessageContains(rejects(yaml(3, "f: 1\n")), "f = 1", "3f + 1 = 4", "lists 3");
    assertMessageContains(rejects(yaml(6, "f: 2\n")), "3f + 1 = 7");
  }

  @Test
  void negativeFIsRejected() {
    assertMessageContains(rejects(yaml(4, "f: -1\n")), "f must not be negative");
  }

  @Test
  void nonIntegerFIsRejected() {
    assertMessageContains(rejects(yaml(4, "f: one\n")), "'f' must be an integer");
    assertMessageContains(rejects(yaml(4, "f: 1.5\n")), "'f' must be an integer");
  }

  @Test
  void duplicateAddressesAreRejected() {
    String yaml = "replicas:\n" + replica(0, "localhost:7000", 0) + replica(1, "localhost:7001", 1)
        + replica(2, "localhost:7000", 2) + replica(3, "localhost:7003", 3);
    assertMessageContains(rejects(yaml), "replica 2", "localhost:7000", "used twice");
  }

  @Test
  void nonSequentialIdsAreRejected() {
    String swapped = "replicas:\n" + replica(0, "h:1", 0) + replica(2, "h:2", 1)
        + replica(1, "h:3", 2) + replica(3, "h:4", 3);
    assertMessageContains(rejects(swapped), "0..3 in order", "entry 1 has id 2");
    String fromOne = "replicas:\n" + replica(1, "h:1", 0) + replica(2, "h:2", 1)
        + replica(3, "h:3", 2) + replica(4, "h:4", 3);
    assertMessageContains(rejects(fromOne), "entry 0 has id 1");
  }

  @Test
  void unknownFieldsAreRejectedByName() {
    assertMessageContains(rejects(yaml(4, "protocl:\n  windowSize: 8\n")), "unknown field 'protocl'", "protocol");
    assertMessageContains(rejects(yaml(4, "protocol:\n  windowsize: 8\n")), "protocol", "unknown field 'windowsize'",
        "windowSize");
    assertMessageContains(rejects(yaml(4, "transport:\n  peerQueue: 8\n")), "transport", "unknown field 'peerQueue'");
    String typoInReplica = "replicas:\n  - id: 0\n    adress: h:1\n    publicKey: " + key(0) + "\n";
    assertMessageContains(rejects(typoInReplica), "replicas[0]", "unknown field 'adress'");
    String typoInClient = yaml(4, "") + "clients:\n  - id: 0\n    publicKy: " + key(9) + "\n";
    assertMessageContains(rejects(typoInClient), "clients[0]", "unknown field 'publicKy'");
  }

  @Test
  void badHexKeyIsRejected() {
    String yaml = "replicas:\n  - id: 0\n    address: h:1\n    publicKey: not-hex-at-all\n";
    assertMessageContains(rejects(yaml), "replicas[0]", "publicKey is not hexadecimal");
  }

  @Test
  void keyOfWrongLengthOrNotOnTheCurveIsRejected() {
    String shortKey = "replicas:\n  - id: 0\n    address: h:1\n    publicKey: abcd\n";
    assertMessageContains(rejects(shortKey), "replica 0", "not a valid Ed25519 public key");
    String lowOrder = "replicas:\n  - id: 0\n    address: h:1\n    publicKey: '" + "00".repeat(32) + "'\n";
    assertMessageContains(rejects(lowOrder), "replica 0", "not a valid Ed25519 public key");
  }

  @Test
  void missingOrEmptyReplicasAreRejected() {
    assertMessageContains(rejects("f: 1\n"), "'replicas' must be a list");
    assertMessageContains(rejects("replicas: []\n"), "no replicas");
    assertMessageContains(rejects("replicas: localhost\n"), "'replicas' must be a list");
  }

  @Test
  void missingReplicaFieldsAreRejected() {
    assertMessageContains(rejects("replicas:\n  - id: 0\n    publicKey: " + key(0) + "\n"), "replicas[0]",
        "'address' is required");
    assertMessageContains(rejects("replicas:\n  - address: h:1\n    publicKey: " + key(0) + "\n"), "replicas[0]",
        "'id' must be an integer");
    assertMessageContains(rejects("replicas:\n  - id: 0\n    address: h:1\n"), "'publicKey' is required");
  }

  @Test
  void badAddressesAreRejected() {
    assertMessageContains(rejects("replicas:\n" + replica(0, "localhost", 0)), "host:port");
    assertMessageContains(rejects("replicas:\n" + replica(0, "localhost:http", 0)), "is not a number");
    assertMessageContains(rejects("replicas:\n" + replica(0, "localhost:70000", 0)), "out of range");
    assertMessageContains(rejects("replicas:\n" + replica(0, "localhost:0", 0)), "out of range");
  }

  @Test
  void duplicateOrNegativeClientIdsAreRejected() {
    String dup = yaml(4, "") + "clients:\n  - id: 1\n    publicKey: " + key(8) + "\n  - id: 1\n    publicKey: "
        + key(9) + "\n";
    assertMessageContains(rejects(dup), "client id 1 is listed twice");
    String negative = yaml(4, "") + "clients:\n  - id: -1\n    publicKey: " + key(8) + "\n";
    assertMessageContains(rejects(negative), "negative");
  }

  @Test
  void zeroWindowSizeIsRejected() {
    assertMessageContains(rejects(yaml(4, "protocol:\n  windowSize: 0\n")),
        "protocol.windowSize must be between 2 and 16777216 sequence numbers, got 0");
  }

  // ---------------------------------------------------------------- ranges, one per setting

  /** Every declared setting of both sections, just outside its range at either end. */
  @Test
  void everySettingOutsideItsRangeIsRejectedNamingTheKeyTheRangeAndTheValue() {
    for (SettingsGroup<?> group : List.of(ProtocolSettings.GROUP, TransportSettings.GROUP)) {
      for (Setting s : group.settings()) {
        for (long bad : new long[] {s.min() - 1L, s.max() + 1L}) {
          String yaml = yaml(4, group.name() + ":\n  " + s.name() + ": " + bad + "\n");
          assertEquals(s.key() + " must be between " + s.min() + " and " + s.max() + " " + s.unit() + ", got " + bad,
              rejects(yaml).getMessage());
        }
      }
    }
  }

  @Test
  void viewChangeTimeoutOutsideItsRangeIsRejected() {
    assertEquals("protocol.viewChangeTimeoutMs must be between 50 and 600000 ms, got 10",
        rejects(yaml(4, "protocol:\n  viewChangeTimeoutMs: 10\n")).getMessage());
    assertEquals(50, ClusterConfig.parse(yaml(4, "protocol:\n  viewChangeTimeoutMs: 50\n"), null)
        .protocol().viewChangeTimeoutMs());
  }

  @Test
  void stateChunkOutsideItsRangeIsRejected() {
    assertMessageContains(rejects(yaml(4, "protocol:\n  stateChunkBytesMax: 0\n")),
        "protocol.stateChunkBytesMax must be between 512 and 1073741824 bytes, got 0");
  }

  // ---------------------------------------------------------------- rules, one test per rule

  @Test
  void pipelineDeeperThanTheWindowIsRejected() {
    assertMessageContains(rejects(yaml(4, "protocol:\n  windowSize: 8\n  checkpointInterval: 4\n  pipelineDepthMax: 9\n")),
        "pipelineDepthMax (9) cannot exceed protocol.windowSize (8)");
    assertEquals(8, ClusterConfig.parse(yaml(4, "protocol:\n  windowSize: 8\n  checkpointInterval: 4\n"
        + "  pipelineDepthMax: 8\n"), null).protocol().pipelineDepthMax());
  }

  @Test
  void operationThatCannotFitInABatchWithItsSignedRequestIsRejected() {
    assertMessageContains(rejects(yaml(4, "protocol:\n  batchBytesMax: 4096\n  operationBytesMax: 4096\n")),
        "protocol.operationBytesMax (4096) plus 256 bytes", "protocol.batchBytesMax (4096)");
    assertMessageContains(rejects(yaml(4, "protocol:\n  batchBytesMax: 4096\n  operationBytesMax: 3841\n")),
        "protocol.operationBytesMax (3841)");
    assertEquals(3840, ClusterConfig.parse(yaml(4, "protocol:\n  batchBytesMax: 4096\n  operationBytesMax: 3840\n"),
        null).protocol().operationBytesMax());
  }

  @Test
  void checkpointIntervalThatDoesNotDivideTheWindowIsRejected() {
    assertMessageContains(rejects(yaml(4, "protocol:\n  windowSize: 1000\n  checkpointInterval: 128\n")),
        "protocol.checkpointInterval (128) must divide protocol.windowSize (1000)");
    assertEquals(1000, ClusterConfig.parse(yaml(4, "protocol:\n  windowSize: 1000\n  checkpointInterval: 125\n"),
        null).protocol().windowSize());
  }

  @Test
  void windowShorterThanTwoCheckpointIntervalsIsRejected() {
    assertMessageContains(rejects(yaml(4, "protocol:\n  windowSize: 128\n  checkpointInterval: 128\n")),
        "protocol.windowSize (128) must be at least twice protocol.checkpointInterval (128)");
    // The default window with a checkpoint interval beyond it: no checkpoint could ever be taken.
    assertMessageContains(rejects(yaml(4, "protocol:\n  checkpointInterval: 2048\n")), "protocol.checkpointInterval");
    assertEquals(256, ClusterConfig.parse(yaml(4, "protocol:\n  windowSize: 256\n  checkpointInterval: 128\n"),
        null).protocol().windowSize());
  }

  @Test
  void batchThatDoesNotFitInAMessageWithItsEnvelopeIsRejected() {
    int message = 1 << 20;
    int envelope = ClusterConfig.envelopeBytes(4);
    String tooBig = "transport:\n  messageBytesMax: " + message + "\nprotocol:\n  batchBytesMax: " + (message - envelope + 1)
        + "\n  operationBytesMax: 1024\n  stateChunkBytesMax: 1024\n";
    assertMessageContains(rejects(yaml(4, tooBig)), "protocol.batchBytesMax (" + (message - envelope + 1) + ")",
        "transport.messageBytesMax (" + message + ")", "n = 4");
    String fits = tooBig.replace("batchBytesMax: " + (message - envelope + 1), "batchBytesMax: " + (message - envelope));
    assertEquals(message - envelope, ClusterConfig.parse(yaml(4, fits), null).protocol().batchBytesMax());
    // The envelope holds 2f + 1 signed commits: what fits 4 replicas does not fit 7.
    assertMessageContains(rejects(yaml(7, fits)), "protocol.batchBytesMax", "n = 7");
  }

  @Test
  void stateChunkThatDoesNotFitInAMessageWithItsEnvelopeIsRejected() {
    int message = 1 << 20;
    int envelope = ClusterConfig.envelopeBytes(4);
    String tooBig = "transport:\n  messageBytesMax: " + message + "\nprotocol:\n  batchBytesMax: 65536\n"
        + "  operationBytesMax: 1024\n  stateChunkBytesMax: " + message + "\n";
    assertMessageContains(rejects(yaml(4, tooBig)), "protocol.stateChunkBytesMax (" + message + ")",
        "transport.messageBytesMax (" + message + ")");
    String fits = tooBig.replace("stateChunkBytesMax: " + message, "stateChunkBytesMax: " + (message - envelope));
    assertEquals(message - envelope, ClusterConfig.parse(yaml(4, fits), null).protocol().stateChunkBytesMax());
  }

  @Test
  void tickLongerThanHalfTheViewChangeTimeoutIsRejected() {
    assertMessageContains(rejects(yaml(4, "protocol:\n  viewChangeTimeoutMs: 100\ntransport:\n  tickMs: 51\n")),
        "transport.tickMs (51) cannot exceed half of protocol.viewChangeTimeoutMs (100)");
    assertEquals(50, ClusterConfig.parse(yaml(4, "protocol:\n  viewChangeTimeoutMs: 100\ntransport:\n  tickMs: 50\n"),
        null).transport().tickMs());
  }

  @Test
  void negativeTransportSettingsAreRejected() {
    assertMessageContains(rejects(yaml(4, "transport:\n  verifyThreads: -1\n")), "transport.verifyThreads");
    assertMessageContains(rejects(yaml(4, "transport:\n  peerQueueMax: 0\n")), "transport.peerQueueMax");
  }

  @Test
  void nonNumericSettingIsRejectedNamingTheField() {
    assertMessageContains(rejects(yaml(4, "protocol:\n  windowSize: big\n")), "protocol.windowSize");
    assertMessageContains(rejects(yaml(4, "transport:\n  peerQueueMax: true\n")), "transport.peerQueueMax");
    assertMessageContains(rejects(yaml(4, "protocol:\n  windowSize: 99999999999\n")), "protocol.windowSize");
    assertMessageContains(rejects(yaml(4, "protocol: 5\n")), "'protocol' must be a mapping");
  }

  @Test
  void fractionalSettingIsRejectedRatherThanTruncated() {
    // 2048.5 would otherwise silently become 2048.
    assertMessageContains(rejects(yaml(4, "protocol:\n  windowSize: 2048.5\n")), "protocol.windowSize");
  }

  @Test
  void emptySettingIsRejectedRatherThanReadAsZero() {
    // verifyThreads 0 is legal (one per core), so an empty value must not turn into it.
    assertMessageContains(rejects(yaml(4, "transport:\n  verifyThreads:\n")), "transport.verifyThreads");
  }

  @Test
  void repeatedKeysAreRejectedRatherThanLastOneWins() {
    assertMessageContains(rejects(yaml(4, "f: 1\nf: 0\n")), "Duplicate field 'f'");
    assertMessageContains(rejects(yaml(4, "protocol:\n  windowSize: 8\n  windowSize: 16\n")), "windowSize");
  }

  @Test
  void malformedYamlIsRejected() {
    assertMessageContains(rejects("replicas: [\n"), "not valid YAML");
    assertMessageContains(rejects("replicas:\n  - id: 0\n   bad indentation: [\n"), "not valid YAML");
    assertMessageContains(rejects("- just\n- a list\n"), "expected a mapping");
    assertMessageContains(rejects(""), "expected a mapping");
  }

  @Test
  void keyFileThatDoesNotMatchItsPublicKeyIsRejected() throws Exception {
    ClusterSetup.generate(dir, 4, 0, "localhost", 7000, -1, new SecureRandom());
    Files.copy(dir.resolve("keys/replica-2.key"), dir.resolve("keys/replica-1.key"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    ClusterConfig c = ClusterConfig.load(dir.resolve("cluster.yaml"));
    ConfigException e = assertThrows(ConfigException.class, () -> c.replicaKeys(1));
    assertMessageContains(e, "replica 1", "replica-1.key", "does not match");
    assertArrayEquals(c.replica(2).publicKey(), c.replicaKeys(2).publicKey());
  }

  @Test
  void missingKeyFileIsAConfigException() {
    ClusterConfig c = ClusterConfig.parse(yaml(4, ""), dir);
    assertMessageContains(assertThrows(ConfigException.class, () -> c.replicaKeys(0)), "replica 0 has no keyFile");
  }

  @Test
  void loadErrorsNameTheFile() throws Exception {
    Path file = dir.resolve("bad.yaml");
    Files.writeString(file, yaml(3, "f: 1\n"));
    assertMessageContains(assertThrows(ConfigException.class, () -> ClusterConfig.load(file)), "bad.yaml", "3f + 1");
    assertMessageContains(assertThrows(ConfigException.class, () -> ClusterConfig.load(dir.resolve("none.yaml"))),
        "cannot read configuration");
  }

  @Test
  void withProtocolValidatesTheNewSettings() {
    ClusterConfig c = ClusterConfig.parse(yaml(4, ""), null);
    ProtocolSettings small = c.protocol().toBuilder().windowSize(16).checkpointInterval(8).pipelineDepthMax(2).build();
    assertEquals(16, c.withProtocol(small).protocol().windowSize());
    assertThrows(ConfigException.class, () -> small.withPipelineDepthMax(17));
    // Rules between the sections hold for every replacement as well.
    ProtocolSettings bigBatches = c.protocol().toBuilder().batchBytesMax(c.transport().messageBytesMax()).build();
    assertMessageContains(assertThrows(ConfigException.class, () -> c.withProtocol(bigBatches)),
        "protocol.batchBytesMax");
  }

  @Test
  void withSettingsChangesBothSectionsAtOnce() {
    ClusterConfig c = ClusterConfig.parse(yaml(4, ""), null);
    TransportSettings tight = c.transport().toBuilder().messageBytesMax(8192).build();
    // A small message bound alone breaks the rules with the default batches; together they hold.
    assertThrows(ConfigException.class, () -> c.withTransport(tight));
    ProtocolSettings small = c.protocol().toBuilder().batchBytesMax(4096).operationBytesMax(1024)
        .stateChunkBytesMax(4096).build();
    ClusterConfig both = c.withSettings(small, tight);
    assertEquals(8192, both.transport().messageBytesMax());
    assertEquals(4096, both.protocol().batchBytesMax());
  }

  @Test
  void toYamlWritesEverySettingOfBothSections() {
    ClusterConfig c = ClusterConfig.parse(yaml(4, "transport:\n  tickMs: 7\n"), null);
    String yaml = c.toYaml();
    for (SettingsGroup<?> group : List.of(ProtocolSettings.GROUP, TransportSettings.GROUP)) {
      for (Setting s : group.settings()) {
        assertTrue(yaml.contains("  " + s.name() + ": "), "toYaml lacks " + s.key() + ":\n" + yaml);
      }
    }
    assertEquals(7, ClusterConfig.parse(yaml, null).transport().tickMs());
  }

  /**
   * Epoch 0 of the replicated state is the file's membership: addresses that differ only in the
   * host's case, or one key for two replicas, are refused when the file loads, not when a replica
   * starts.
   */
  @Test
  void aMembershipEpochZeroCouldNotHoldIsRefused() {
    List<ReplicaInfo> sameHost = new java.util.ArrayList<>();
    List<ReplicaInfo> sameKey = new java.util.ArrayList<>();
    for (int i = 0; i < 4; i++) {
      byte[] key = Ed25519Keys.generate(new java.security.SecureRandom()).publicKey();
      sameHost.add(new ReplicaInfo(i, i == 1 ? "Replica0" : "replica" + i, 7000, key, null));
    }
    byte[] shared = Ed25519Keys.generate(new java.security.SecureRandom()).publicKey();
    for (int i = 0; i < 4; i++) {
      sameKey.add(new ReplicaInfo(i, "replica" + i, 7000, shared, null));
    }
    sameHost.set(0, new ReplicaInfo(0, "replica0", 7000, sameHost.get(0).publicKey(), null));
    ConfigException host = assertThrows(ConfigException.class, () -> new ClusterConfig(sameHost, List.of(), 1,
        ProtocolSettings.defaults(), TransportSettings.defaults(), null));
    assertTrue(host.getMessage().contains("Replica0:7000"), host.getMessage());
    ConfigException key = assertThrows(ConfigException.class, () -> new ClusterConfig(sameKey, List.of(), 1,
        ProtocolSettings.defaults(), TransportSettings.defaults(), null));
    assertTrue(key.getMessage().contains("publicKey is also replica 0's"), key.getMessage());
  }
}
