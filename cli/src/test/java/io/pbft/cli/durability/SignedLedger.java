package io.pbft.cli.durability;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.pbft.proto.NewView;
import io.pbft.proto.PreparedCertificate;
import io.pbft.proto.ReplicaMessage;
import io.pbft.proto.SignedMessage;
import io.pbft.proto.ViewChange;
import io.pbft.proto.WalRecord;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32C;

/**
 * Every protocol statement each replica signed that can be found on disk, and the contradictions
 * among them: two PRE-PREPAREs, PREPAREs or COMMITs signed by one replica for the same view and
 * sequence number with different digests, or two CHECKPOINTs for one sequence number with
 * different state digests.
 *
 * <p>Logs are read without changing them: segments are parsed in order ([length u32][CRC32C
 * u32][payload], as the write-ahead log frames them) up to the first frame that does not check,
 * which is where a crash during a write leaves a torn tail. Statements are taken from wherever
 * they appear, not only from a replica's own "sent" records: pre-prepares it accepted, prepared
 * certificates (the prepares of others), NEW-VIEWs and the certificates inside VIEW-CHANGEs, so a
 * replica's statements are also checked as its peers received them.
 */
final class SignedLedger {
  /** (signer, kind, view, sequence) to digest hex, and where it was first seen. */
  private final Map<String, Entry> statements = new TreeMap<>();
  private final List<String> conflicts = new ArrayList<>();
  private final Map<String, Long> counts = new TreeMap<>();

  private record Entry(String digest, String where) {}

  /** Every record of the log in {@code walDir} up to a torn tail, read without changing anything. */
  static List<WalRecord> readLog(Path walDir) throws IOException {
    TreeMap<String, Path> segments = new TreeMap<>();
    try (DirectoryStream<Path> files = Files.newDirectoryStream(walDir, "*.wal")) {
      for (Path f : files) {
        segments.put(f.getFileName().toString(), f);
      }
    }
    List<WalRecord> records = new ArrayList<>();
    CRC32C crc = new CRC32C();
    for (Path segment : segments.values()) {
      ByteBuffer buf = ByteBuffer.wrap(Files.readAllBytes(segment));
      while (buf.remaining() >= 8) {
        int length = buf.getInt(buf.position());
        int stored = buf.getInt(buf.position() + 4);
        if (length <= 0 || length > buf.remaining() - 8) {
          break;
        }
        byte[] payload = new byte[length];
        buf.get(buf.position() + 8, payload);
        crc.reset();
        crc.update(payload);
        if ((int) crc.getValue() != stored) {
          break;
        }
        records.add(WalRecord.parseFrom(payload));
        buf.position(buf.position() + 8 + length);
      }
    }
    return records;
  }

  /** Adds every signed statement found in {@code records}, read at {@code where}. */
  void addAll(List<WalRecord> records, String where) {
    for (WalRecord r : records) {
      switch (r.getEntryCase()) {
        case SENT -> add(r.getSent(), where);
        case ACCEPTED_PRE_PREPARE -> add(r.getAcceptedPrePrepare(), where);
        case PREPARED -> add(r.getPrepared(), where);
        case ACCEPTED_NEW_VIEW -> add(r.getAcceptedNewView(), where);
        case STABLE -> r.getStable().getProofList().forEach(m -> add(m, where));
        default -> { }
      }
    }
  }

  private void add(PreparedCertificate c, String where) {
    add(c.getPrePrepare(), where);
    c.getPreparesList().forEach(m -> add(m, where));
  }

  private void add(SignedMessage signed, String where) {
    ReplicaMessage m;
    try {
      m = ReplicaMessage.parseFrom(signed.getPayload());
    } catch (InvalidProtocolBufferException e) {
      conflicts.add("a signed message from replica " + signed.getSender() + " in " + where + " does not parse");
      return;
    }
    int by = signed.getSender();
    switch (m.getBodyCase()) {
      case PRE_PREPARE -> note(by, "PRE-PREPARE", m.getPrePrepare().getView(), m.getPrePrepare().getSequence(),
          m.getPrePrepare().getDigest(), where);
      case PREPARE -> note(by, "PREPARE", m.getPrepare().getView(), m.getPrepare().getSequence(),
          m.getPrepare().getDigest(), where);
      case COMMIT -> note(by, "COMMIT", m.getCommit().getView(), m.getCommit().getSequence(),
          m.getCommit().getDigest(), where);
      case CHECKPOINT -> note(by, "CHECKPOINT", -1, m.getCheckpoint().getSequence(),
          m.getCheckpoint().getStateDigest(), where);
      case NEW_VIEW -> {
        NewView nv = m.getNewView();
        nv.getPrePreparesList().forEach(pp -> add(pp, where));
        nv.getViewChangesList().forEach(vc -> add(vc, where));
      }
      case VIEW_CHANGE -> {
        ViewChange vc = m.getViewChange();
        vc.getCheckpointProofList().forEach(cp -> add(cp, where));
        vc.getPreparedList().forEach(c -> add(c, where));
      }
      default -> { }
    }
  }

  private void note(int by, String kind, long view, long sequence, ByteString digest, String where) {
    String key = String.format("replica %d %s view %s sequence %d", by, kind, view < 0 ? "-" : view, sequence);
    String hex = HexFormat.of().formatHex(digest.toByteArray());
    Entry before = statements.putIfAbsent(key, new Entry(hex, where));
    if (before == null) {
      counts.merge("replica " + by + " " + kind, 1L, Long::sum);
    } else if (!before.digest.equals(hex)) {
      conflicts.add(key + ": digest " + before.digest + " (in " + before.where + ") and " + hex + " (in " + where + ")");
    }
  }

  List<String> conflicts() {
    return conflicts;
  }

  /** Distinct statements per signer and kind. */
  Map<String, Long> counts() {
    return counts;
  }

  long count(int replica, String kind) {
    return counts.getOrDefault("replica " + replica + " " + kind, 0L);
  }
}
