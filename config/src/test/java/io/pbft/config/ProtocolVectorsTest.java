package io.pbft.config;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.pbft.crypto.Digests;
import io.pbft.crypto.Ed25519Keys;
import io.pbft.crypto.HandshakeException;
import io.pbft.crypto.Mac;
import io.pbft.crypto.PeerKeys;
import io.pbft.crypto.RequestMacs;
import io.pbft.crypto.SessionHandshake;
import io.pbft.proto.AuthenticatedReply;
import io.pbft.proto.Batch;
import io.pbft.proto.ClientMessage;
import io.pbft.proto.Commit;
import io.pbft.proto.Heartbeat;
import io.pbft.proto.KvCompareAndSet;
import io.pbft.proto.KvDelete;
import io.pbft.proto.KvGet;
import io.pbft.proto.KvOperation;
import io.pbft.proto.KvPut;
import io.pbft.proto.KvResult;
import io.pbft.proto.PeerMac;
import io.pbft.proto.PrePrepare;
import io.pbft.proto.Prepare;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.ReplicaToClient;
import io.pbft.proto.Reply;
import io.pbft.proto.Request;
import io.pbft.proto.SessionAccept;
import io.pbft.proto.SessionOpen;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.SignedRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.crypto.spec.SecretKeySpec;
import org.bouncycastle.math.ec.rfc7748.X25519;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The test vectors in the appendix of docs/PROTOCOL.md are what this code computes. Every value is
 * recomputed here from fixed inputs with the classes replicas and the Java client use
 * (SessionHandshake, RequestMacs, Mac, Ed25519Keys, Digests, the generated protobuf classes) and
 * compared with the hex parsed out of the document, so the specification and the code cannot drift
 * apart. Also checks that the derived keys follow the formulas the document states (an HKDF written
 * here from HMAC-SHA256 alone, the X25519 agreement computed from both ends) and that the key-file
 * line the document shows loads.
 *
 * <p>To regenerate the appendix block after a deliberate change of the wire format, run this test
 * with {@code -Dpbft.vectors.print=true}: it prints the block to standard output.
 */
class ProtocolVectorsTest {
  static final int CLIENT = 5;
  static final int N = 4;
  static final long TIMESTAMP = 1_700_000_000_000_000L; // microseconds since the epoch: 2023-11-14T22:13:20Z
  static final byte[] KEY = "colour".getBytes(StandardCharsets.UTF_8);
  static final byte[] VALUE = "blue".getBytes(StandardCharsets.UTF_8);
  private static final int WRAP = 64;

  @TempDir
  Path dir;

  @Test
  void everyVectorOfTheSpecificationIsWhatTheCodeComputes() throws Exception {
    Map<String, String> computed = compute();
    if (Boolean.getBoolean("pbft.vectors.print")) {
      System.out.println(render(computed));
    }
    Path doc = specification();
    Map<String, String> documented = parse(Files.readString(doc));
    List<String> problems = new ArrayList<>();
    for (Map.Entry<String, String> e : computed.entrySet()) {
      String shown = documented.get(e.getKey());
      if (shown == null) {
        problems.add("vector " + e.getKey() + " is missing from " + doc + " (computed " + e.getValue() + ")");
      } else if (!shown.equals(e.getValue())) {
        problems.add("vector " + e.getKey() + " differs: " + doc + " says " + shown + ", the code computes "
            + e.getValue());
      }
    }
    for (String name : documented.keySet()) {
      if (!computed.containsKey(name)) {
        problems.add("vector " + name + " in " + doc + " is not computed by this test (a typo, or a vector to add here)");
      }
    }
    if (!problems.isEmpty()) {
      fail(problems.size() + " test vector(s) of docs/PROTOCOL.md disagree with the code (regenerate the block with "
          + "-Dpbft.vectors.print=true if the wire format changed on purpose):\n  " + String.join("\n  ", problems));
    }
  }

  @Test
  void derivedKeysFollowTheFormulasOfTheSpecification() throws Exception {
    for (int r = 0; r < N; r++) {
      Session s = session(r);
      // X25519 from both ends gives one secret.
      byte[] fromClient = x25519(s.clientEphemeralSeed, s.replicaEphemeralPublic);
      byte[] fromReplica = x25519(s.replicaEphemeralSeed, s.clientEphemeralPublic);
      assertArrayEquals(fromClient, fromReplica, "session " + r + ": X25519 secret of the two ends");
      byte[] transcript = Digests.sha256(concat(s.openBytes, s.acceptBytes));
      // HKDF-SHA256 (RFC 5869) written out: extract with salt = transcript, expand one block.
      assertArrayEquals(hkdf(fromClient, transcript, "pbft reply mac v1"), s.replyKey, "session " + r + ": reply key");
      assertArrayEquals(hkdf(fromClient, transcript, "pbft request mac v1"), s.requestKey.key(),
          "session " + r + ": request key");
      assertArrayEquals(s.replyKey, s.replicaReplyKey, "session " + r + ": the replica's reply key is the client's");
      assertArrayEquals(s.requestKey.key(), s.replicaRequestKey.key(), "session " + r + ": request keys of both ends");
      assertEquals(ByteString.copyFrom(transcript, 0, 8), s.requestKey.keyId(), "session " + r + ": key id");
      assertEquals(ByteString.copyFrom(Digests.sha256(s.openBytes)),
          SessionAccept.parseFrom(s.acceptBytes).getOpenDigest(), "session " + r + ": open digest");
    }
  }

  @Test
  void pairKeysFollowTheFormulasOfTheSpecificationFromBothEnds() throws Exception {
    PairKeys pair = pairKeys();
    assertArrayEquals(x25519(pair.private1(), pair.public2()), x25519(pair.private2(), pair.public1()),
        "X25519 secret of the two replicas");
    PeerKeys one = new PeerKeys(1, N, pair.private1(), PEER_INCARNATION, RequestMacs::mac);
    PeerKeys two = new PeerKeys(2, N, pair.private2(), PEER_INCARNATION, RequestMacs::mac);
    assertEquals(ByteString.copyFrom(pair.public1()), one.publicKey());
    assertEquals(ByteString.copyFrom(pair.public2()), two.publicKey());
    assertTrue(one.learn(2, two.publicKey(), PEER_INCARNATION));
    assertTrue(two.learn(1, one.publicKey(), PEER_INCARNATION));
    // each names, in its next heartbeat, the key id it holds for the other (peer_key_ids_held)
    assertTrue(one.confirm(2, two.heldKeyIds().get(1)));
    assertTrue(two.confirm(1, one.heldKeyIds().get(2)));
    assertArrayEquals(pair.keyId12(), two.heldKeyIds().get(1).toByteArray(), "2 holds id 1>2 for 1");
    ByteString payload = ByteString.copyFromUtf8("any payload");
    PeerMac m12 = one.authenticator(payload, new int[] {2}).get(0);
    PeerMac m21 = two.authenticator(payload, new int[] {1}).get(0);
    assertArrayEquals(hmac(pair.key12(), payload.toByteArray()), m12.getMac().toByteArray(), "1 > 2 under the key");
    assertArrayEquals(hmac(pair.key21(), payload.toByteArray()), m21.getMac().toByteArray(), "2 > 1 under the key");
    assertArrayEquals(pair.keyId12(), m12.getKeyId().toByteArray());
    assertArrayEquals(pair.keyId21(), m21.getKeyId().toByteArray());
    assertTrue(two.check(1, List.of(m12), payload));
    assertTrue(one.check(2, List.of(m21), payload));
  }

  @Test
  void theKeyFileLineOfTheSpecificationLoads() throws Exception {
    String md = Files.readString(specification());
    Matcher line = Pattern.compile("(?m)^ed25519-secret [0-9a-f]{64}$").matcher(md);
    assertTrue(line.find(), "docs/PROTOCOL.md shows no key-file line 'ed25519-secret HEX'");
    Path file = dir.resolve("client-5.key");
    Files.writeString(file, line.group() + "\n");
    Ed25519Keys keys = KeyFiles.read(file);
    assertEquals(hex(clientKeys().publicKey()), hex(keys.publicKey()),
        "the key-file line docs/PROTOCOL.md shows is not client 5's key");
    assertEquals(parse(md).get("client.ed25519.public"), hex(keys.publicKey()),
        "client.ed25519.public of docs/PROTOCOL.md is not the key of the key-file line it shows");
  }

  @Test
  void theParserReadsWrappedAndEmptyValues() {
    String md = "text\n```text\nname.a = 0a0b\n    0c0d\nname.b = (empty)\n```\nname.c = zz\n";
    Map<String, String> v = parse(md);
    assertEquals(Map.of("name.a", "0a0b0c0d", "name.b", ""), v);
    Map<String, String> long80 = new LinkedHashMap<>(Map.of("x.y", "ab".repeat(40), "x.z", ""));
    String rendered = render(long80);
    assertTrue(rendered.contains("\n    "), rendered); // wrapped
    assertEquals(long80, parse("```text\n" + rendered + "```\n"));
    assertTrue(parse("```java\nx.y = 00\n```\n").isEmpty(), "only ```text blocks hold vectors");
  }

  // ------------------------------------------------------------------ the vectors

  /** A deterministic input: SHA-256 of an ASCII label, as the specification states. */
  static byte[] seed(String label) {
    return Digests.sha256(("pbft vector: " + label).getBytes(StandardCharsets.US_ASCII));
  }

  static Ed25519Keys clientKeys() {
    return Ed25519Keys.fromSecretKey(seed("client " + CLIENT + " ed25519"));
  }

  static Ed25519Keys replicaKeys(int r) {
    return Ed25519Keys.fromSecretKey(seed("replica " + r + " ed25519"));
  }

  static final long PEER_INCARNATION = 1_700_000_000_000L; // a start time in ms, as the runtime uses

  /** The pair keys of replicas 1 and 2, from the formulas of the specification written out here. */
  record PairKeys(byte[] private1, byte[] public1, byte[] private2, byte[] public2, byte[] salt, byte[] key12,
      byte[] keyId12, byte[] key21, byte[] keyId21) {}

  static PairKeys pairKeys() throws Exception {
    byte[] private1 = seed("replica 1 x25519");
    byte[] private2 = seed("replica 2 x25519");
    byte[] public1 = new byte[32];
    byte[] public2 = new byte[32];
    X25519.generatePublicKey(private1, 0, public1, 0);
    X25519.generatePublicKey(private2, 0, public2, 0);
    byte[] shared = x25519(private1, public2);
    byte[] salt = Digests.sha256(concat("pbft peer keys v1".getBytes(StandardCharsets.US_ASCII), concat(public1, public2)));
    byte[] key12 = hkdf(shared, salt, "pbft peer mac v1 1>2");
    byte[] key21 = hkdf(shared, salt, "pbft peer mac v1 2>1");
    byte[] id12 = java.util.Arrays.copyOf(Digests.sha256(concat(salt, "pbft peer mac v1 1>2".getBytes(StandardCharsets.US_ASCII))), 8);
    byte[] id21 = java.util.Arrays.copyOf(Digests.sha256(concat(salt, "pbft peer mac v1 2>1".getBytes(StandardCharsets.US_ASCII))), 8);
    return new PairKeys(private1, public1, private2, public2, salt, key12, id12, key21, id21);
  }

  /** One handshake between the client and replica {@code r}, run by SessionHandshake with fixed randomness. */
  record Session(int replica, byte[] clientEphemeralSeed, byte[] clientEphemeralPublic, byte[] nonce, byte[] openBytes,
      byte[] openSignature, ClientMessage openMessage, byte[] replicaEphemeralSeed, byte[] replicaEphemeralPublic,
      byte[] acceptBytes, byte[] acceptSignature, ReplicaToClient acceptMessage, byte[] replyKey,
      SessionHandshake.SessionKey requestKey, byte[] replicaReplyKey, SessionHandshake.SessionKey replicaRequestKey) {}

  static Session session(int r) throws HandshakeException {
    byte[] clientEph = seed("client " + CLIENT + " x25519 for replica " + r);
    byte[] nonce = java.util.Arrays.copyOf(seed("client " + CLIENT + " nonce for replica " + r), 16);
    byte[] replicaEph = seed("replica " + r + " x25519 for client " + CLIENT);
    SessionHandshake.Client client = SessionHandshake.start(CLIENT, r, clientKeys(), new FixedRandom(clientEph, nonce));
    SessionHandshake.Accepted accepted = SessionHandshake.accept(client.open(), r, replicaKeys(r),
        id -> id == CLIENT ? clientKeys().verifier() : null, new FixedRandom(replicaEph));
    byte[] replyKey = client.finish(accepted.accept(), replicaKeys(r).verifier());
    SessionOpen open;
    SessionAccept accept;
    try {
      open = SessionOpen.parseFrom(client.open().getOpen());
      accept = SessionAccept.parseFrom(accepted.accept().getAccept());
    } catch (InvalidProtocolBufferException e) {
      throw new AssertionError(e);
    }
    return new Session(r, clientEph, open.getEphemeralKey().toByteArray(), nonce, client.open().getOpen().toByteArray(),
        client.open().getSignature().toByteArray(), ClientMessage.newBuilder().setOpen(client.open()).build(),
        replicaEph, accept.getEphemeralKey().toByteArray(), accepted.accept().getAccept().toByteArray(),
        accepted.accept().getSignature().toByteArray(), ReplicaToClient.newBuilder().setAccept(accepted.accept()).build(),
        replyKey, client.requestKey(), accepted.macKey(), accepted.requestKey());
  }

  /** Every vector, by name, in the order of the document. */
  static Map<String, String> compute() throws Exception {
    Map<String, String> v = new LinkedHashMap<>();
    // Identities
    Ed25519Keys client = clientKeys();
    v.put("client.ed25519.seed", hex(client.secretKey()));
    v.put("client.ed25519.public", hex(client.publicKey()));
    for (int r = 0; r < N; r++) {
      v.put("replica." + r + ".ed25519.seed", hex(replicaKeys(r).secretKey()));
      v.put("replica." + r + ".ed25519.public", hex(replicaKeys(r).publicKey()));
    }
    byte[] pbft = "pbft".getBytes(StandardCharsets.US_ASCII);
    v.put("client.ed25519.signature_of_pbft", hex(client.sign(pbft)));

    // Handshakes
    List<Session> sessions = new ArrayList<>();
    for (int r = 0; r < N; r++) {
      Session s = session(r);
      sessions.add(s);
      String p = "session." + r + ".";
      v.put(p + "client_ephemeral.private", hex(s.clientEphemeralSeed));
      v.put(p + "client_ephemeral.public", hex(s.clientEphemeralPublic));
      v.put(p + "nonce", hex(s.nonce));
      v.put(p + "open", hex(s.openBytes));
      v.put(p + "open.signature", hex(s.openSignature));
      if (r == 0) {
        v.put(p + "client_message", hex(s.openMessage.toByteArray()));
      }
      v.put(p + "replica_ephemeral.private", hex(s.replicaEphemeralSeed));
      v.put(p + "replica_ephemeral.public", hex(s.replicaEphemeralPublic));
      v.put(p + "open_digest", hex(Digests.sha256(s.openBytes)));
      v.put(p + "accept", hex(s.acceptBytes));
      v.put(p + "accept.signature", hex(s.acceptSignature));
      if (r == 0) {
        v.put(p + "replica_to_client", hex(s.acceptMessage.toByteArray()));
      }
      byte[] shared = x25519(s.clientEphemeralSeed, s.replicaEphemeralPublic);
      byte[] transcript = Digests.sha256(concat(s.openBytes, s.acceptBytes));
      v.put(p + "x25519_shared", hex(shared));
      v.put(p + "transcript", hex(transcript));
      v.put(p + "key_id", hex(s.requestKey.keyId().toByteArray()));
      if (r == 0) {
        v.put(p + "hkdf_prk", hex(hmac(transcript, shared)));
      }
      v.put(p + "reply_key", hex(s.replyKey));
      v.put(p + "request_key", hex(s.requestKey.key()));
    }

    // The request: client 5 puts colour=blue
    byte[] operation = KvOperation.newBuilder()
        .setPut(KvPut.newBuilder().setKey(ByteString.copyFrom(KEY)).setValue(ByteString.copyFrom(VALUE))).build()
        .toByteArray();
    v.put("request.operation", hex(operation));
    ByteString request = Request.newBuilder().setClientId(CLIENT).setTimestamp(TIMESTAMP)
        .setOperation(ByteString.copyFrom(operation)).build().toByteString();
    v.put("request.request", hex(request.toByteArray()));
    v.put("request.digest", hex(Digests.sha256(request.toByteArray())));
    byte[] signature = client.sign(request.toByteArray());
    v.put("request.signature", hex(signature));
    SignedRequest signedBySignature = SignedRequest.newBuilder().setRequest(request)
        .setSignature(ByteString.copyFrom(signature)).build();
    v.put("request.signed_request.signatures", hex(signedBySignature.toByteArray()));
    SignedRequest.Builder macs = SignedRequest.newBuilder().setRequest(request);
    for (Session s : sessions) {
      var entry = RequestMacs.entry(s.replica, s.requestKey, request);
      v.put("request.mac." + s.replica, hex(entry.getMac().toByteArray()));
      macs.addAuthenticator(entry);
    }
    SignedRequest signedByMacs = macs.build();
    v.put("request.signed_request.macs", hex(signedByMacs.toByteArray()));
    v.put("request.client_message.macs", hex(ClientMessage.newBuilder().setRequest(signedByMacs).setSentToAll(true)
        .build().toByteArray()));

    // Replies: the put's result from replicas 0 and 1
    byte[] putResult = KvResult.newBuilder().setStatus(KvResult.Status.OK).build().toByteArray();
    for (int r = 0; r < 2; r++) {
      byte[] reply = Reply.newBuilder().setView(0).setTimestamp(TIMESTAMP).setClientId(CLIENT).setReplicaId(r)
          .setResult(ByteString.copyFrom(putResult)).build().toByteArray();
      byte[] mac = new Mac(sessions.get(r).replyKey).compute(reply);
      v.put("reply." + r + ".reply", hex(reply));
      v.put("reply." + r + ".mac", hex(mac));
      if (r == 0) {
        v.put("reply." + r + ".replica_to_client", hex(ReplicaToClient.newBuilder().setReply(AuthenticatedReply
            .newBuilder().setReply(ByteString.copyFrom(reply)).setMac(ByteString.copyFrom(mac))).build().toByteArray()));
      }
    }

    // Replica to replica: replica 0's PRE-PREPARE of the request, replica 1's PREPARE
    byte[] batchDigest = Digests.batchDigest(List.of(signedByMacs));
    v.put("preprepare.batch_digest", hex(batchDigest));
    byte[] ppPayload = ReplicaMessage.newBuilder().setPrePrepare(PrePrepare.newBuilder().setView(0).setSequence(1)
        .setDigest(ByteString.copyFrom(batchDigest)).setBatch(Batch.newBuilder().addRequests(signedByMacs))).build()
        .toByteArray();
    byte[] ppSignature = replicaKeys(0).sign(ppPayload);
    v.put("preprepare.payload", hex(ppPayload));
    v.put("preprepare.signature", hex(ppSignature));
    v.put("preprepare.signed_message", hex(SignedMessage.newBuilder().setSender(0)
        .setPayload(ByteString.copyFrom(ppPayload)).setSignature(ByteString.copyFrom(ppSignature)).build().toByteArray()));
    byte[] prepare = ReplicaMessage.newBuilder().setPrepare(Prepare.newBuilder().setView(0).setSequence(1)
        .setDigest(ByteString.copyFrom(batchDigest)).setReplicaId(1)).build().toByteArray();
    byte[] prepareSignature = replicaKeys(1).sign(prepare);
    v.put("prepare.payload", hex(prepare));
    v.put("prepare.signature", hex(prepareSignature));
    v.put("prepare.signed_message", hex(SignedMessage.newBuilder().setSender(1).setPayload(ByteString.copyFrom(prepare))
        .setSignature(ByteString.copyFrom(prepareSignature)).build().toByteArray()));
    v.put("null_batch.digest", hex(Digests.batchDigest(List.of())));

    // Pair keys between replicas 1 and 2 (authentication: macs), replica 1's HEARTBEAT announcing
    // its key, and its COMMIT for the batch above with the authenticator entry for replica 2.
    PairKeys pair = pairKeys();
    v.put("peer.1.x25519.private", hex(pair.private1()));
    v.put("peer.1.x25519.public", hex(pair.public1()));
    v.put("peer.2.x25519.private", hex(pair.private2()));
    v.put("peer.2.x25519.public", hex(pair.public2()));
    v.put("peer.1_2.salt", hex(pair.salt()));
    v.put("peer.1to2.key", hex(pair.key12()));
    v.put("peer.1to2.key_id", hex(pair.keyId12()));
    v.put("peer.2to1.key", hex(pair.key21()));
    v.put("peer.2to1.key_id", hex(pair.keyId21()));
    v.put("heartbeat.1.payload", hex(ReplicaMessage.newBuilder().setHeartbeat(Heartbeat.newBuilder().setView(0)
        .setLastExecuted(1).setLowWatermark(0).setReplicaId(1).setPeerKey(ByteString.copyFrom(pair.public1()))
        .setPeerKeyIncarnation(PEER_INCARNATION)).build().toByteArray()));
    ByteString commit = ReplicaMessage.newBuilder().setCommit(Commit.newBuilder().setView(0).setSequence(1)
        .setDigest(ByteString.copyFrom(batchDigest)).setReplicaId(1)).build().toByteString();
    PeerKeys one = new PeerKeys(1, N, pair.private1(), PEER_INCARNATION, RequestMacs::mac);
    one.learn(2, ByteString.copyFrom(pair.public2()), PEER_INCARNATION);
    one.confirm(2, ByteString.copyFrom(pair.keyId12()));
    List<PeerMac> entry = one.authenticator(commit, new int[] {2});
    v.put("commit.payload", hex(commit.toByteArray()));
    v.put("commit.mac_for_2", hex(entry.get(0).getMac().toByteArray()));
    v.put("commit.signed_message_to_2", hex(SignedMessage.newBuilder().setSender(1).setPayload(commit)
        .addAllAuthenticator(entry).build().toByteArray()));

    // The key-value store's other encodings
    v.put("kv.get", hex(KvOperation.newBuilder().setGet(KvGet.newBuilder().setKey(ByteString.copyFrom(KEY))).build()
        .toByteArray()));
    v.put("kv.delete", hex(KvOperation.newBuilder().setDelete(KvDelete.newBuilder().setKey(ByteString.copyFrom(KEY)))
        .build().toByteArray()));
    v.put("kv.cas_if_absent", hex(KvOperation.newBuilder().setCas(KvCompareAndSet.newBuilder()
        .setKey(ByteString.copyFrom(KEY)).setExpectedAbsent(true).setNewValue(ByteString.copyFrom(VALUE))).build()
        .toByteArray()));
    v.put("kv.result.ok", hex(putResult));
    v.put("kv.result.get_found", hex(KvResult.newBuilder().setStatus(KvResult.Status.OK).setFound(true)
        .setValue(ByteString.copyFrom(VALUE)).build().toByteArray()));
    v.put("kv.result.not_found", hex(KvResult.newBuilder().setStatus(KvResult.Status.NOT_FOUND).build().toByteArray()));
    v.put("kv.result.cas_failed", hex(KvResult.newBuilder().setStatus(KvResult.Status.CAS_FAILED).setFound(true)
        .setValue(ByteString.copyFrom(VALUE)).build().toByteArray()));
    return v;
  }

  // ------------------------------------------------------------------ the document

  /** The repository root: the nearest directory up from here whose pom.xml lists modules. */
  static Path repositoryRoot() throws java.io.IOException {
    for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
      Path pom = d.resolve("pom.xml");
      if (Files.isRegularFile(pom) && Files.readString(pom).contains("<modules>")) {
        return d;
      }
    }
    throw new AssertionError("no pom.xml with <modules> above " + Path.of("").toAbsolutePath());
  }

  static Path specification() throws java.io.IOException {
    Path doc = repositoryRoot().resolve("docs").resolve("PROTOCOL.md");
    assertTrue(Files.isRegularFile(doc), doc + " is missing");
    return doc;
  }

  private static final Pattern VECTOR = Pattern.compile("^([a-z][a-z0-9_.]*) += +([0-9a-f]+|\\(empty\\))$");
  private static final Pattern CONTINUATION = Pattern.compile("^ {2,}([0-9a-f]+)$");

  /**
   * The vectors in the document's ```text blocks: lines {@code name = hex}, a long value wrapped
   * onto following lines indented by spaces, {@code (empty)} for no bytes.
   */
  static Map<String, String> parse(String markdown) {
    Map<String, String> out = new LinkedHashMap<>();
    boolean inBlock = false;
    String last = null;
    for (String line : markdown.split("\n", -1)) {
      if (line.startsWith("```")) {
        inBlock = !inBlock && line.equals("```text");
        last = null;
        continue;
      }
      if (!inBlock) {
        continue;
      }
      Matcher c = CONTINUATION.matcher(line);
      if (last != null && c.matches()) {
        out.put(last, out.get(last) + c.group(1));
        continue;
      }
      Matcher m = VECTOR.matcher(line);
      if (m.matches()) {
        if (out.containsKey(m.group(1))) {
          throw new AssertionError("vector " + m.group(1) + " appears twice in docs/PROTOCOL.md");
        }
        last = m.group(1);
        out.put(last, m.group(2).equals("(empty)") ? "" : m.group(2));
      } else {
        last = null;
      }
    }
    return out;
  }

  /** The vectors as the document shows them, blank lines between groups of the same prefix. */
  static String render(Map<String, String> vectors) {
    int width = vectors.keySet().stream().mapToInt(String::length).max().orElse(0);
    StringBuilder b = new StringBuilder();
    String group = null;
    for (Map.Entry<String, String> e : vectors.entrySet()) {
      String name = e.getKey();
      String g = group(name);
      if (group != null && !group.equals(g)) {
        b.append('\n');
      }
      group = g;
      String hex = e.getValue().isEmpty() ? "(empty)" : e.getValue();
      b.append(String.format("%-" + width + "s = ", name));
      for (int i = 0; i < hex.length(); i += WRAP) {
        if (i > 0) {
          b.append('\n').append(" ".repeat(width + 3));
        }
        b.append(hex, i, Math.min(hex.length(), i + WRAP));
      }
      b.append('\n');
    }
    return b.toString();
  }

  /** Vectors of one group share a block of the document: the identities, each session, each reply, ... */
  static String group(String name) {
    String[] parts = name.split("\\.");
    return switch (parts[0]) {
      case "client", "replica" -> "identities";
      case "session", "reply" -> parts[0] + "." + parts[1];
      default -> parts[0];
    };
  }

  // ------------------------------------------------------------------ helpers

  static String hex(byte[] b) {
    return Digests.hex(b);
  }

  static byte[] concat(byte[] a, byte[] b) {
    byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  static byte[] x25519(byte[] privateKey, byte[] peerPublic) {
    byte[] shared = new byte[X25519.POINT_SIZE];
    assertTrue(X25519.calculateAgreement(privateKey, 0, peerPublic, 0, shared, 0), "X25519 agreement");
    return shared;
  }

  static byte[] hmac(byte[] key, byte[] data) throws Exception {
    javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(key, "HmacSHA256"));
    return mac.doFinal(data);
  }

  /** RFC 5869 with SHA-256 and a 32-byte output: one expand block, T(1) = HMAC(PRK, info || 0x01). */
  static byte[] hkdf(byte[] ikm, byte[] salt, String info) throws Exception {
    byte[] prk = hmac(salt, ikm);
    byte[] in = concat(info.getBytes(StandardCharsets.US_ASCII), new byte[] {1});
    return hmac(prk, in);
  }

  /** Hands out fixed byte strings, in order, to whoever asks a SecureRandom for bytes. */
  static final class FixedRandom extends SecureRandom {
    private final ArrayDeque<byte[]> next = new ArrayDeque<>();

    FixedRandom(byte[]... values) {
      for (byte[] value : values) {
        next.add(value.clone());
      }
    }

    @Override
    public void nextBytes(byte[] bytes) {
      byte[] value = next.poll();
      if (value == null || value.length != bytes.length) {
        throw new IllegalStateException("fixed randomness: asked for " + bytes.length + " bytes, have "
            + (value == null ? "none" : value.length));
      }
      System.arraycopy(value, 0, bytes, 0, bytes.length);
    }
  }
}
