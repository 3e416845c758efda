package io.pbft.replica.app.kv;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.pbft.proto.KvResult;
import io.pbft.replica.app.ExecutionContext;
import io.pbft.replica.app.Operation;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RocksKvStateMachineTest {
  @TempDir
  Path dir;

  private final List<RocksKvStateMachine> opened = new ArrayList<>();
  private long sequence;

  @AfterEach
  void closeAll() {
    opened.forEach(RocksKvStateMachine::close);
  }

  private RocksKvStateMachine openAndRecover(Path stateDir) {
    RocksKvStateMachine kv = RocksKvStateMachine.open(stateDir);
    opened.add(kv);
    kv.recover();
    return kv;
  }

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private KvResult run(io.pbft.replica.app.StateMachine kv, byte[] operation) {
    List<byte[]> results = kv.execute(new ExecutionContext(++sequence), List.of(new Operation(7, sequence, operation)));
    assertEquals(1, results.size());
    try {
      return KvResult.parseFrom(results.get(0));
    } catch (InvalidProtocolBufferException e) {
      throw new AssertionError("result is not a KvResult", e);
    }
  }

  private void put(io.pbft.replica.app.StateMachine kv, String key, String value) {
    assertEquals(KvResult.Status.OK, run(kv, KvOperations.put(b(key), b(value))).getStatus());
  }

  private ByteString get(io.pbft.replica.app.StateMachine kv, String key) {
    KvResult r = run(kv, KvOperations.get(b(key)));
    return r.getFound() ? r.getValue() : null;
  }

  // ---------------------------------------------------------------- operations

  @Test
  void putGetDeleteAndCompareAndSet() {
    RocksKvStateMachine kv = openAndRecover(dir);
    put(kv, "k", "v1");
    put(kv, "k", "v2");
    put(kv, "", "empty key");
    put(kv, "e", "");
    assertEquals(ByteString.copyFrom(b("v2")), get(kv, "k"));
    assertEquals(ByteString.copyFrom(b("empty key")), get(kv, ""));
    assertEquals(ByteString.EMPTY, get(kv, "e"));
    assertEquals(3, kv.size());

    assertEquals(KvResult.Status.OK, run(kv, KvOperations.delete(b("k"))).getStatus());
    assertEquals(KvResult.Status.NOT_FOUND, run(kv, KvOperations.delete(b("k"))).getStatus());
    assertEquals(null, get(kv, "k"));

    KvResult failed = run(kv, KvOperations.cas(b("e"), b("wrong"), b("x")));
    assertEquals(KvResult.Status.CAS_FAILED, failed.getStatus());
    assertEquals(ByteString.EMPTY, failed.getValue());
    assertEquals(KvResult.Status.OK, run(kv, KvOperations.cas(b("e"), new byte[0], b("x"))).getStatus());
    assertEquals(KvResult.Status.OK, run(kv, KvOperations.cas(b("new"), null, b("n"))).getStatus());
    assertEquals(KvResult.Status.CAS_FAILED, run(kv, KvOperations.cas(b("new"), null, b("m"))).getStatus());
    assertEquals(ByteString.copyFrom(b("n")), get(kv, "new"));
    assertEquals(KvResult.Status.BAD_OPERATION, run(kv, new byte[] {(byte) 0xff}).getStatus());
  }

  @Test
  void operationsInOneBatchSeeEachOthersWrites() {
    RocksKvStateMachine kv = openAndRecover(dir);
    List<byte[]> results = kv.execute(new ExecutionContext(1), List.of(
        new Operation(1, 1, KvOperations.put(b("k"), b("v"))),
        new Operation(1, 2, KvOperations.get(b("k"))),
        new Operation(1, 3, KvOperations.delete(b("k"))),
        new Operation(1, 4, KvOperations.get(b("k")))));
    KvStateMachine reference = new KvStateMachine();
    List<byte[]> expected = reference.execute(new ExecutionContext(1), List.of(
        new Operation(1, 1, KvOperations.put(b("k"), b("v"))),
        new Operation(1, 2, KvOperations.get(b("k"))),
        new Operation(1, 3, KvOperations.delete(b("k"))),
        new Operation(1, 4, KvOperations.get(b("k")))));
    for (int i = 0; i < expected.size(); i++) {
      assertArrayEquals(expected.get(i), results.get(i), "operation " + i);
    }
    assertArrayEquals(reference.stateDigest(), kv.stateDigest());
  }

  @Test
  void nothingWorksBeforeRecover() {
    RocksKvStateMachine kv = RocksKvStateMachine.open(dir);
    opened.add(kv);
    IllegalStateException e = assertThrows(IllegalStateException.class, kv::stateDigest);
    assertTrue(e.getMessage().contains("recover()"), e.getMessage());
  }

  // ---------------------------------------------------------------- same as the in-memory store

  @Test
  void randomOperationsGiveTheSameResultsDigestsAndSnapshotsAsTheInMemoryStore() {
    RocksKvStateMachine rocks = openAndRecover(dir);
    KvStateMachine memory = new KvStateMachine();
    Random random = new Random(11);
    compareRandomBatches(random, memory, rocks, 300);
    assertArrayEquals(memory.snapshot(), rocks.snapshot());
    assertEquals(memory.size(), rocks.size());

    // State transfer both ways: each restores the other's snapshot and they go on agreeing.
    KvStateMachine fromRocks = new KvStateMachine();
    fromRocks.restore(rocks.snapshot());
    assertArrayEquals(rocks.stateDigest(), fromRocks.stateDigest());
    RocksKvStateMachine fromMemory = openAndRecover(dir.resolve("second"));
    put(fromMemory, "stale", "entry that the restore must remove");
    fromMemory.restore(memory.snapshot());
    assertArrayEquals(memory.stateDigest(), fromMemory.stateDigest());
    assertArrayEquals(memory.snapshot(), fromMemory.snapshot());
    compareRandomBatches(random, fromRocks, fromMemory, 100);
  }

  private void compareRandomBatches(Random random, io.pbft.replica.app.StateMachine a,
      io.pbft.replica.app.StateMachine b, int batches) {
    for (int n = 0; n < batches; n++) {
      List<Operation> batch = randomBatch(random);
      ExecutionContext context = new ExecutionContext(++sequence);
      List<byte[]> expected = a.execute(context, batch);
      List<byte[]> actual = b.execute(context, batch);
      assertEquals(expected.size(), actual.size());
      for (int i = 0; i < expected.size(); i++) {
        assertArrayEquals(expected.get(i), actual.get(i), "batch " + n + " operation " + i);
      }
      assertArrayEquals(a.stateDigest(), b.stateDigest(), "digest after batch " + n);
      byte[] query = KvOperations.get(new byte[] {(byte) random.nextInt(30)});
      assertArrayEquals(a.query(query), b.query(query));
      if (n % 50 == 0) {
        assertArrayEquals(a.snapshot(), b.snapshot(), "snapshot after batch " + n);
      }
    }
  }

  private static List<Operation> randomBatch(Random random) {
    List<Operation> batch = new ArrayList<>();
    int size = 1 + random.nextInt(8);
    for (int i = 0; i < size; i++) {
      byte[] key = random.nextInt(10) == 0 ? new byte[0] : new byte[] {(byte) random.nextInt(30)};
      byte[] value = new byte[random.nextInt(6)];
      random.nextBytes(value);
      byte[] garbage = new byte[random.nextInt(4)];
      random.nextBytes(garbage);
      byte[] op = switch (random.nextInt(5)) {
        case 0 -> KvOperations.put(key, value);
        case 1 -> KvOperations.get(key);
        case 2 -> KvOperations.delete(key);
        case 3 -> KvOperations.cas(key, random.nextBoolean() ? null : new byte[] {(byte) random.nextInt(2)}, value);
        default -> garbage;
      };
      batch.add(new Operation(random.nextInt(4), i, op));
    }
    return batch;
  }

  @Test
  void aMalformedSnapshotLeavesTheStateAlone() {
    RocksKvStateMachine kv = openAndRecover(dir);
    put(kv, "keep", "me");
    byte[] before = kv.stateDigest();
    byte[] good = kv.snapshot();
    for (byte[] bad : List.of(Arrays.copyOf(good, good.length - 1), Arrays.copyOf(good, good.length + 1), new byte[0])) {
      assertThrows(IllegalArgumentException.class, () -> kv.restore(bad));
      assertArrayEquals(before, kv.stateDigest());
    }
    assertEquals(ByteString.copyFrom(b("me")), get(kv, "keep"));
  }

  // ---------------------------------------------------------------- checkpoints

  @Test
  void recoverReturnsTheLastCheckpointWithItsExactState() {
    RocksKvStateMachine kv = openAndRecover(dir);
    KvStateMachine reference = new KvStateMachine();
    for (int i = 0; i < 200; i++) {
      put(kv, "key-" + i, "value-" + i);
      put(reference, "key-" + i, "value-" + i);
    }
    kv.checkpoint(10);
    byte[] digest = kv.stateDigest();
    byte[] snapshot = kv.snapshot();
    // Changes after the checkpoint are what the replica's log replays; the store forgets them.
    put(kv, "key-0", "changed");
    put(kv, "after", "checkpoint");
    run(kv, KvOperations.delete(b("key-1")));
    kv.close();

    RocksKvStateMachine reopened = RocksKvStateMachine.open(dir);
    opened.add(reopened);
    assertEquals(10, reopened.recover());
    assertArrayEquals(digest, reopened.stateDigest());
    assertArrayEquals(reference.stateDigest(), reopened.stateDigest());
    assertArrayEquals(snapshot, reopened.snapshot());
    assertEquals(ByteString.copyFrom(b("value-0")), get(reopened, "key-0"));
    assertEquals(null, get(reopened, "after"));
    assertEquals(200, reopened.size());

    // It goes on from there like a store that never stopped.
    put(reopened, "after", "recovery");
    put(reference, "after", "recovery");
    assertArrayEquals(reference.stateDigest(), reopened.stateDigest());
  }

  @Test
  void withoutACheckpointRecoverGivesTheEmptyState() {
    RocksKvStateMachine kv = openAndRecover(dir);
    put(kv, "k", "v");
    kv.close();
    RocksKvStateMachine reopened = RocksKvStateMachine.open(dir);
    opened.add(reopened);
    assertEquals(0, reopened.recover());
    assertArrayEquals(new KvStateMachine().stateDigest(), reopened.stateDigest());
    assertEquals(0, reopened.size());
  }

  @Test
  void recoverAlsoRollsBackAnOpenStore() {
    RocksKvStateMachine kv = openAndRecover(dir);
    put(kv, "k", "v");
    kv.checkpoint(5);
    byte[] digest = kv.stateDigest();
    put(kv, "k", "w");
    assertEquals(5, kv.recover());
    assertArrayEquals(digest, kv.stateDigest());
  }

  @Test
  void aCheckpointInterruptedByACrashIsIgnoredAndCleanedUp() throws IOException {
    RocksKvStateMachine kv = openAndRecover(dir);
    put(kv, "k", "at 10");
    kv.checkpoint(10);
    byte[] digest = kv.stateDigest();
    put(kv, "k", "at 20");
    kv.checkpoint(20);
    kv.close();
    // As if the crash came before the marker was written, or while RocksDB was still staging.
    Path checkpoints = dir.resolve("checkpoints");
    Files.delete(checkpoints.resolve("20").resolve(RocksCheckpoints.COMPLETE_MARKER));
    Files.createDirectories(checkpoints.resolve("30.tmp"));
    Files.writeString(checkpoints.resolve("30.tmp").resolve("000001.sst"), "half");

    RocksKvStateMachine reopened = RocksKvStateMachine.open(dir);
    opened.add(reopened);
    assertEquals(10, reopened.recover());
    assertArrayEquals(digest, reopened.stateDigest());
    assertEquals(ByteString.copyFrom(b("at 10")), get(reopened, "k"));
    assertFalse(Files.exists(checkpoints.resolve("20")));
    assertFalse(Files.exists(checkpoints.resolve("30.tmp")));
    // The sequence number can be checkpointed again.
    reopened.checkpoint(20);
    assertEquals(List.of(10L, 20L), reopened.checkpoints());
  }

  @Test
  void discardCheckpointsBelowFreesOldOnesButNeverTheNewest() {
    RocksKvStateMachine kv = openAndRecover(dir);
    for (long s = 1; s <= 4; s++) {
      put(kv, "k", "v" + s);
      kv.checkpoint(s * 10);
    }
    assertEquals(List.of(10L, 20L, 30L, 40L), kv.checkpoints());
    kv.discardCheckpointsBelow(30);
    assertEquals(List.of(30L, 40L), kv.checkpoints());
    assertFalse(Files.exists(dir.resolve("checkpoints/10")));
    assertFalse(Files.exists(dir.resolve("checkpoints/20")));
    kv.discardCheckpointsBelow(1000);
    assertEquals(List.of(40L), kv.checkpoints());
    assertEquals(40, kv.recover());
  }

  @Test
  void aSequenceNumberIsCheckpointedOnce() {
    RocksKvStateMachine kv = openAndRecover(dir);
    kv.checkpoint(7);
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> kv.checkpoint(7));
    assertTrue(e.getMessage().contains("already exists"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> kv.checkpoint(0));
  }

  @Test
  void aNewCheckpointLinksTheFilesOfThePreviousOneInsteadOfCopyingThem() throws IOException {
    RocksKvStateMachine kv = openAndRecover(dir);
    for (int i = 0; i < 1000; i++) {
      put(kv, "key-" + i, "value-" + i);
    }
    kv.checkpoint(1);
    put(kv, "one", "more");
    kv.checkpoint(2);
    List<Path> first = sstFiles(dir.resolve("checkpoints/1"));
    assertFalse(first.isEmpty());
    for (Path sst : first) {
      Path same = dir.resolve("checkpoints/2").resolve(sst.getFileName());
      assertTrue(Files.exists(same), sst.getFileName() + " missing from the next checkpoint");
      assertEquals(Files.getAttribute(sst, "unix:ino"), Files.getAttribute(same, "unix:ino"),
          sst.getFileName() + " was copied, not linked");
    }
  }

  @Test
  void aRestoredStateSurvivesCheckpointAndRecovery() {
    KvStateMachine source = new KvStateMachine();
    for (int i = 0; i < 50; i++) {
      put(source, "k" + i, "v" + i);
    }
    RocksKvStateMachine kv = openAndRecover(dir);
    put(kv, "stale", "x");
    kv.restore(source.snapshot());
    kv.checkpoint(128);
    kv.close();
    RocksKvStateMachine reopened = RocksKvStateMachine.open(dir);
    opened.add(reopened);
    assertEquals(128, reopened.recover());
    assertArrayEquals(source.stateDigest(), reopened.stateDigest());
    assertArrayEquals(source.snapshot(), reopened.snapshot());
  }

  /**
   * A checkpoint written before entry hashes were expanded with AES-CTR (record version 1) holds
   * an accumulator of the old hashes: recovery recomputes it from the entries, so the store's
   * digest agrees with every upgraded replica's.
   */
  @Test
  void aCheckpointFromBeforeTheAesExpansionIsRehashedOnRecovery() throws Exception {
    RocksKvStateMachine kv = openAndRecover(dir);
    KvStateMachine reference = new KvStateMachine();
    for (int i = 0; i < 40; i++) {
      put(kv, "key-" + i, "value-" + i);
      put(reference, "key-" + i, "value-" + i);
    }
    kv.checkpoint(16);
    kv.close();
    // Rewrite the checkpoint's record as version 1 wrote it: version, sequence, an accumulator
    // that is not this version's sum (here simply zero lanes with the right count).
    Path checkpoint = dir.resolve("checkpoints").resolve("16");
    byte[] metaKey = b("pbft-kv-checkpoint");
    java.nio.ByteBuffer old = java.nio.ByteBuffer.allocate(Integer.BYTES + Long.BYTES + KvDigest.ENCODED_BYTES)
        .putInt(1).putLong(16).putLong(40);
    List<org.rocksdb.ColumnFamilyHandle> handles = new ArrayList<>();
    try (org.rocksdb.DBOptions options = new org.rocksdb.DBOptions();
        org.rocksdb.RocksDB db = org.rocksdb.RocksDB.open(options, checkpoint.toString(), List.of(
            new org.rocksdb.ColumnFamilyDescriptor(org.rocksdb.RocksDB.DEFAULT_COLUMN_FAMILY),
            new org.rocksdb.ColumnFamilyDescriptor(b("kv"))), handles)) {
      assertEquals(2, java.nio.ByteBuffer.wrap(db.get(handles.get(0), metaKey)).getInt(), "this version writes 2");
      db.put(handles.get(0), metaKey, old.array());
      handles.forEach(org.rocksdb.ColumnFamilyHandle::close);
    }
    RocksKvStateMachine reopened = RocksKvStateMachine.open(dir);
    opened.add(reopened);
    assertEquals(16, reopened.recover());
    assertArrayEquals(reference.stateDigest(), reopened.stateDigest());
    put(reopened, "after", "upgrade");
    put(reference, "after", "upgrade");
    assertArrayEquals(reference.stateDigest(), reopened.stateDigest());
  }

  private static List<Path> sstFiles(Path checkpoint) throws IOException {
    try (Stream<Path> files = Files.list(checkpoint)) {
      return files.filter(f -> f.toString().endsWith(".sst")).toList();
    }
  }
}
