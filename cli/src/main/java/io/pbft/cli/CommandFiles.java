package io.pbft.cli;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.pbft.config.Administration;
import io.pbft.config.ClusterConfig;
import io.pbft.config.ConfigException;
import io.pbft.config.KeyFiles;
import io.pbft.config.Member;
import io.pbft.config.Membership;
import io.pbft.config.ReplicaInfo;
import io.pbft.crypto.Digests;
import io.pbft.crypto.Ed25519Keys;
import io.pbft.crypto.ReconfigurationSigning;
import io.pbft.proto.AdministrationSignature;
import io.pbft.proto.Reconfiguration;
import io.pbft.proto.ReconfigurationMember;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The files {@code pbft admin} reads and writes: reconfiguration commands (binary protobuf),
 * new replicas' entries and administration keys, with one-line errors for bad ones; and the
 * human-readable summary of a command against the current membership.
 */
final class CommandFiles {
  /** Far above any real command (at most 64 administration keys, 128 signatures, some members). */
  private static final long COMMAND_BYTES_MAX = 16L << 20;

  private CommandFiles() {}

  /** Refuses an output file that exists or whose directory does not. */
  static void checkNew(Path out) {
    if (Files.exists(out)) {
      throw CliException.usage("--out " + out + " already exists; choose another file, or delete it if it is a "
          + "command nobody needs any more");
    }
    Path dir = out.toAbsolutePath().getParent();
    if (dir == null || !Files.isDirectory(dir)) {
      throw CliException.usage("--out " + out + ": directory " + dir + " does not exist");
    }
  }

  /**
   * Writes {@code bytes} to {@code target} through a temporary file in the same directory, renamed
   * over it: a reader sees the old file or the new one, never half of one.
   */
  static void write(Path target, byte[] bytes, boolean replace) {
    Path dir = target.toAbsolutePath().getParent();
    Path tmp = null;
    try {
      tmp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".tmp");
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
        ch.write(java.nio.ByteBuffer.wrap(bytes));
        ch.force(true);
      }
      try {
        // a command is not secret: the other administrators read it to sign it
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
      } catch (UnsupportedOperationException ignored) {
        // not a POSIX file system
      }
      if (!replace && Files.exists(target)) {
        throw CliException.usage(target + " already exists");
      }
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      tmp = null;
    } catch (IOException e) {
      throw CliException.failed("cannot write " + target + ": " + e.getMessage());
    } finally {
      if (tmp != null) {
        try {
          Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
          // best effort: a stray temporary file, the target untouched
        }
      }
    }
  }

  /** A command file; a usage error for a missing, empty or corrupt one. */
  static Reconfiguration read(Path file) {
    if (!Files.exists(file)) {
      throw CliException.usage("command file " + file + " does not exist");
    }
    if (!Files.isRegularFile(file)) {
      throw CliException.usage("command file " + file + " is not a file");
    }
    byte[] bytes;
    try {
      if (Files.size(file) > COMMAND_BYTES_MAX) {
        throw CliException.usage(file + " is too large to be a reconfiguration command");
      }
      bytes = Files.readAllBytes(file);
    } catch (IOException e) {
      throw CliException.usage("cannot read " + file + ": " + e.getMessage());
    }
    if (bytes.length == 0) {
      throw CliException.usage(file + " is empty, not a reconfiguration command");
    }
    Reconfiguration command;
    try {
      command = Reconfiguration.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw CliException.usage(file + " is not a reconfiguration command (corrupt or truncated, or another kind "
          + "of file)");
    }
    // Protobuf reads many byte strings as some message; one naming no epoch and no members is not a command.
    if (command.getEpoch() == 0 || command.getMembersCount() == 0) {
      throw CliException.usage(file + " is not a reconfiguration command (it names no next epoch or no members)");
    }
    return command;
  }

  /** A new replica's entry, as {@code pbft keygen --add-to} writes it. */
  static ReplicaInfo readEntry(Path entry) {
    if (!Files.isRegularFile(entry)) {
      throw CliException.usage("--entry " + entry + " does not exist (write one with 'pbft keygen --add-to DIR "
          + "--address HOST:PORT')");
    }
    try {
      return ClusterConfig.parseReplicaEntry(entry);
    } catch (ConfigException e) {
      throw CliException.usage("--entry " + e.getMessage());
    }
  }

  /** An administrator's key file. */
  static Ed25519Keys readKey(Path key) {
    if (!Files.isRegularFile(key)) {
      throw CliException.usage("--key " + key + " does not exist");
    }
    try {
      return KeyFiles.read(key);
    } catch (ConfigException e) {
      throw CliException.usage("--key: " + e.getMessage());
    }
  }

  // ---------------------------------------------------------------- the summary

  /**
   * What {@code command} does to {@code current}: the epochs, the members before and after (what
   * changed marked), f, the administration, the membership digests and the signatures. Works on any
   * command that parses, valid or not.
   */
  static void describe(PrintWriter o, Membership current, Reconfiguration command) {
    String next = Long.toUnsignedString(command.getEpoch());
    o.printf("epoch %d -> %s: %s%n", current.epoch(), next,
        command.getReason().isEmpty() ? "(no reason given)" : command.getReason());
    o.printf("members of epoch %d (n = %d, f = %d):%n", current.epoch(), current.n(), current.f());
    for (Member m : current.members()) {
      o.printf("  replica %-3d %-24s key %s%n", m.id(), m.address(), shortHex(m.publicKey()));
    }
    o.printf("members of epoch %s (n = %d, f = %d):%n", next, command.getMembersCount(),
        Integer.toUnsignedLong(command.getF()));
    Set<Integer> named = new HashSet<>();
    for (ReconfigurationMember m : command.getMembersList()) {
      named.add(m.getId());
      String change = change(current, m);
      o.printf("  replica %-3s %-24s key %s%s%n", Integer.toUnsignedString(m.getId()), m.getAddress(),
          shortHex(m.getPublicKey().toByteArray()), change.isEmpty() ? "" : "  (" + change + ")");
    }
    List<Integer> removed = new ArrayList<>();
    current.members().forEach(m -> {
      if (!named.contains(m.id())) {
        removed.add(m.id());
      }
    });
    if (!removed.isEmpty()) {
      o.printf("removed: replica%s %s%n", removed.size() == 1 ? "" : "s",
          String.join(", ", removed.stream().map(String::valueOf).toList()));
    }
    if (command.getF() != current.f()) {
      o.printf("f: %d -> %d%n", current.f(), Integer.toUnsignedLong(command.getF()));
    }
    var admin = command.getAdministration();
    boolean sameAdmin = admin.getThreshold() == current.administration().threshold()
        && admin.getKeysList().equals(
            current.administration().publicKeys().stream().map(ByteString::copyFrom).toList());
    o.printf("administration of epoch %s: %d of %d keys must sign (%s)%n", next,
        Integer.toUnsignedLong(admin.getThreshold()), admin.getKeysCount(), sameAdmin ? "unchanged" : "changed");
    byte[] digest = current.digest();
    o.printf("membership digest of epoch %d: %s%n", current.epoch(), Digests.hex(digest));
    if (!command.getPreviousMembershipDigest().equals(ByteString.copyFrom(digest))) {
      o.printf("  but the command was built for: %s%n", command.getPreviousMembershipDigest().isEmpty() ? "(none)"
          : Digests.hex(command.getPreviousMembershipDigest().toByteArray()));
    }
    o.printf("membership digest of epoch %s: %s%n", next,
        Digests.hex(ReconfigurationSigning.nextMembershipDigest(command)));
    o.println(signatures(current.administration(), command));
  }

  /** "signatures: 1 of the 2 needed (administration key 0)", counting only those that verify. */
  static String signatures(Administration admins, Reconfiguration command) {
    byte[] signed = ReconfigurationSigning.signingBytes(command);
    BitSet valid = new BitSet();
    int others = 0;
    for (AdministrationSignature s : command.getSignaturesList()) {
      int k = admins.indexOf(s.getPublicKey().toByteArray());
      if (k >= 0 && ReconfigurationSigning.verifies(signed, s)) {
        valid.set(k);
      } else {
        others++;
      }
    }
    StringBuilder b = new StringBuilder("signatures: ").append(valid.cardinality()).append(" of the ")
        .append(admins.threshold()).append(" needed");
    if (!valid.isEmpty()) {
      b.append(" (administration key").append(valid.cardinality() == 1 ? " " : "s ")
          .append(String.join(", ", valid.stream().mapToObj(String::valueOf).toList())).append(')');
    }
    if (others > 0) {
      b.append("; ").append(others).append(" other").append(others == 1 ? " does" : "s do").append(" not count");
    }
    return b.toString();
  }

  private static String change(Membership current, ReconfigurationMember m) {
    int i = current.indexOf(m.getId());
    if (i < 0) {
      return "added";
    }
    Member old = current.members().get(i);
    boolean address = !old.address().equals(m.getAddress());
    boolean key = !Arrays.equals(old.publicKey(), m.getPublicKey().toByteArray());
    boolean certificate = !Arrays.equals(old.tlsCertificate(), m.getTlsCertificate().toByteArray());
    if (address && key) {
      return "replaced: new address and key";
    }
    if (key) {
      return "new key";
    }
    if (address) {
      return "new address";
    }
    return certificate ? "new TLS certificate" : "";
  }

  private static String shortHex(byte[] key) {
    if (key.length == 0) {
      return "(none)";
    }
    String hex = Digests.hex(key);
    return hex.length() <= 16 ? hex : hex.substring(0, 16) + "...";
  }
}
