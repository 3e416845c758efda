package io.pbft.cli.durability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.pbft.proto.Commit;
import io.pbft.proto.NewView;
import io.pbft.proto.PrePrepare;
import io.pbft.proto.Prepare;
import io.pbft.proto.PreparedCertificate;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.WalRecord;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The checker the crash tests rely on finds contradictions, and only those. */
class SignedLedgerTest {
  @TempDir
  Path dir;

  private static SignedMessage signed(int sender, ReplicaMessage m) {
    return SignedMessage.newBuilder().setSender(sender).setPayload(m.toByteString()).build();
  }

  private static SignedMessage prepare(int by, long view, long seq, int digest) {
    return signed(by, ReplicaMessage.newBuilder().setPrepare(Prepare.newBuilder().setView(view).setSequence(seq)
        .setDigest(ByteString.copyFrom(new byte[] {(byte) digest})).setReplicaId(by)).build());
  }

  private static SignedMessage commit(int by, long view, long seq, int digest) {
    return signed(by, ReplicaMessage.newBuilder().setCommit(Commit.newBuilder().setView(view).setSequence(seq)
        .setDigest(ByteString.copyFrom(new byte[] {(byte) digest})).setReplicaId(by)).build());
  }

  private static SignedMessage prePrepare(int by, long view, long seq, int digest) {
    return signed(by, ReplicaMessage.newBuilder().setPrePrepare(PrePrepare.newBuilder().setView(view).setSequence(seq)
        .setDigest(ByteString.copyFrom(new byte[] {(byte) digest}))).build());
  }

  private static WalRecord sent(SignedMessage m) {
    return WalRecord.newBuilder().setSent(m).build();
  }

  @Test
  void sameStatementTwiceIsNoConflict() {
    SignedLedger ledger = new SignedLedger();
    ledger.addAll(List.of(sent(prepare(1, 0, 5, 7)), sent(commit(1, 0, 5, 7))), "run 1");
    ledger.addAll(List.of(sent(prepare(1, 0, 5, 7)), sent(prepare(1, 1, 5, 8)), sent(prepare(2, 0, 5, 9))), "run 2");
    assertEquals(List.of(), ledger.conflicts());
    assertEquals(2, ledger.count(1, "PREPARE"));
  }

  @Test
  void conflictingVotesAcrossRunsAreFound() {
    SignedLedger ledger = new SignedLedger();
    ledger.addAll(List.of(sent(commit(3, 2, 40, 1))), "run 1");
    ledger.addAll(List.of(sent(commit(3, 2, 40, 2))), "run 2");
    assertEquals(1, ledger.conflicts().size(), ledger.conflicts().toString());
    assertTrue(ledger.conflicts().get(0).startsWith("replica 3 COMMIT view 2 sequence 40"), ledger.conflicts().toString());
  }

  @Test
  void statementsInsideCertificatesAndNewViewsCount() {
    SignedLedger ledger = new SignedLedger();
    PreparedCertificate cert = PreparedCertificate.newBuilder().setPrePrepare(prePrepare(0, 0, 3, 1))
        .addPrepares(prepare(2, 0, 3, 1)).build();
    ledger.addAll(List.of(WalRecord.newBuilder().setPrepared(cert).build()), "replica 1");
    SignedMessage newView = signed(0, ReplicaMessage.newBuilder().setNewView(NewView.newBuilder().setView(0)
        .addPrePrepares(prePrepare(0, 0, 3, 2))).build());
    ledger.addAll(List.of(WalRecord.newBuilder().setAcceptedNewView(newView).build(),
        WalRecord.newBuilder().setAcceptedPrePrepare(prePrepare(0, 0, 4, 1)).build()), "replica 3");
    assertEquals(1, ledger.conflicts().size(), ledger.conflicts().toString());
    assertTrue(ledger.conflicts().get(0).startsWith("replica 0 PRE-PREPARE view 0 sequence 3"));
    assertEquals(1, ledger.count(2, "PREPARE"));
  }

  @Test
  void readsFramedSegmentsUpToATornTail() throws IOException {
    byte[] a = sent(prepare(1, 0, 1, 1)).toByteArray();
    byte[] b = sent(prepare(1, 0, 2, 1)).toByteArray();
    byte[] c = sent(prepare(1, 0, 3, 1)).toByteArray();
    Files.write(dir.resolve("00000000000000000001.wal"), concat(frame(a), frame(b)));
    byte[] torn = frame(c);
    Files.write(dir.resolve("00000000000000000003.wal"), java.util.Arrays.copyOf(torn, torn.length - 2));
    List<WalRecord> records = SignedLedger.readLog(dir);
    assertEquals(2, records.size());
    assertEquals(WalRecord.parseFrom(b), records.get(1));
  }

  private static byte[] frame(byte[] payload) {
    CRC32C crc = new CRC32C();
    crc.update(payload);
    return ByteBuffer.allocate(8 + payload.length).putInt(payload.length).putInt((int) crc.getValue()).put(payload)
        .array();
  }

  private static byte[] concat(byte[] x, byte[] y) {
    return ByteBuffer.allocate(x.length + y.length).put(x).put(y).array();
  }
}
