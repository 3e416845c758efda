package io.pbft.config;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnknownFieldSet;
import io.pbft.crypto.Digests;
import io.pbft.crypto.ReconfigurationSigning;
import io.pbft.proto.AdministrationSignature;
import io.pbft.proto.Reconfiguration;
import io.pbft.proto.ReconfigurationAdministration;
import io.pbft.proto.ReconfigurationMember;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.TreeSet;

/**
 * Reconfiguration commands (docs/RECONFIGURATION.md): made from the next {@link Membership},
 * signed with {@link ReconfigurationSigning}, and {@link #validate validated} against the current
 * epoch.
 *
 * <p>Validation is a pure function of the current epoch and the command: no clock, thread, file or
 * randomness, so that every correct replica, executing the command at the same sequence number,
 * comes to the same verdict. Bad input is a refusal with its reason, never an exception.
 */
public final class Reconfigurations {
  /** The longest reason accepted, in UTF-8 bytes: it is kept in the replicated state. */
  public static final int REASON_BYTES_MAX = 1024;
  /**
   * The most signatures a command may carry: each one by a current administration key costs a
   * signature check, so a command cannot make every replica check an unbounded number.
   */
  public static final int SIGNATURES_MAX = 2 * Administration.KEYS_MAX;

  private Reconfigurations() {}

  /**
   * The unsigned command that changes the group from {@code current} to {@code next}, bound to
   * {@code current} by its {@link Membership#digest() digest}. {@code next} must be the epoch after
   * {@code current} (as {@link Membership#change()} builds it).
   */
  public static Reconfiguration command(Membership current, Membership next, String reason) {
    if (next.epoch() != current.epoch() + 1) {
      throw new ConfigException("a command changes epoch " + current.epoch() + " into epoch " + (current.epoch() + 1)
          + ", not into epoch " + next.epoch());
    }
    String text = reason == null ? "" : reason;
    if (text.getBytes(StandardCharsets.UTF_8).length > REASON_BYTES_MAX) {
      throw new ConfigException("the reason is longer than " + REASON_BYTES_MAX + " bytes");
    }
    return Reconfiguration.newBuilder()
        .setEpoch(next.epoch())
        .addAllMembers(next.protoMembers())
        .setF(next.f())
        .setAdministration(next.protoAdministration())
        .setReason(text)
        .setPreviousMembershipDigest(ByteString.copyFrom(current.digest()))
        .build();
  }

  /**
   * Whether {@code command} may change the group from {@code current} to the epoch it names.
   * Accepted when all of these hold, refused with the first that does not:
   *
   * <ol>
   *   <li>{@code current} has administration keys (a group without them cannot be changed);
   *   <li>the command carries no field this version does not know (such a field would not be
   *       covered by the signatures), at most {@link #SIGNATURES_MAX} signatures and a reason of at
   *       most {@link #REASON_BYTES_MAX} bytes;
   *   <li>it names epoch {@code current + 1};
   *   <li>its {@code previous_membership_digest} is {@code current}'s {@link Membership#digest()
   *       digest}: it was built for this group at this epoch, not for another group that shares
   *       administration keys, nor for another membership numbered the same;
   *   <li>every signature by an administration key of {@code current} verifies over the
   *       {@link ReconfigurationSigning#signingBytes canonical bytes} (one that does not is a
   *       forgery or a command changed after signing, and refuses the command), and at least
   *       {@code threshold} distinct such keys signed. Signatures by other keys are not counted
   *       (nor checked), nor is a key's second signature;
   *   <li>every address is {@link HostPort host:port}, and the next epoch names administration
   *       keys (without them nobody could change the group again);
   *   <li>the next epoch is a valid {@link Membership} ({@link Membership#problem}): n ≥ 3f + 1,
   *       distinct ids, addresses and keys, a valid administration;
   *   <li>it changes something: members, f or administration.
   * </ol>
   *
   * <p>Whether another change is still pending is the replicated state's to decide, not this one.
   */
  public static ReconfigurationVerdict validate(Membership current, Reconfiguration command) {
    return validate(current, command, true);
  }

  /**
   * How far a chain of ordered commands leads from a known membership: {@code reached} is the
   * last membership every link up to it checked for, {@code refusal} why the next link did not
   * (null when the whole chain checked).
   */
  public record Followed(Membership reached, String refusal) {}

  /**
   * Follows {@code chain}, the commands that began epochs 1, 2, ... in order (a replica's Status
   * lists them), from {@code known} (cluster.yaml's epoch 0, or a later epoch already checked):
   * the links up to {@code known}'s epoch are skipped, and each later one must {@link #validate
   * validate} against the membership before it. The first that does not stops the walk. So a
   * replica can withhold changes but cannot make one up: every link is signed by the
   * administration of the epoch before it.
   */
  public static Followed follow(Membership known, List<ByteString> chain) {
    Membership m = known;
    for (int i = (int) Math.min(m.epoch(), chain.size()); i < chain.size(); i++) {
      Reconfiguration command;
      try {
        command = Reconfiguration.parseFrom(chain.get(i));
      } catch (com.google.protobuf.InvalidProtocolBufferException e) {
        return new Followed(m, "the command that began epoch " + (i + 1) + " does not parse");
      }
      if (command.getEpoch() != m.epoch() + 1) {
        return new Followed(m, "entry " + (i + 1) + " names epoch " + command.getEpoch() + ", not " + (m.epoch() + 1));
      }
      ReconfigurationVerdict v = validate(m, command);
      if (!v.isAccepted()) {
        return new Followed(m, "the change to epoch " + (m.epoch() + 1) + " does not check: " + v.refusal());
      }
      m = v.next();
    }
    return new Followed(m, null);
  }

  /**
   * As {@link #validate}, with the signatures neither checked nor counted: whether the command
   * would be accepted once enough administrators signed it. For an administrator about to sign
   * ({@code pbft admin sign}), never for execution.
   */
  public static ReconfigurationVerdict validateUnsigned(Membership current, Reconfiguration command) {
    return validate(current, command, false);
  }

  private static ReconfigurationVerdict validate(Membership current, Reconfiguration command,
      boolean checkSignatures) {
    long e = current.epoch();
    Administration admins = current.administration();
    if (admins.isNone()) {
      return ReconfigurationVerdict.refused("epoch " + e + " has no administration keys, so the group cannot be "
          + "changed at run time");
    }
    String unknown = unknownFields(command);
    if (unknown != null) {
      return ReconfigurationVerdict.refused("the command carries fields this version does not know (" + unknown
          + "); signatures would not cover them");
    }
    if (command.getSignaturesCount() > SIGNATURES_MAX) {
      return ReconfigurationVerdict.refused("the command carries " + command.getSignaturesCount()
          + " signatures; at most " + SIGNATURES_MAX + " are accepted");
    }
    if (command.getReasonBytes().size() > REASON_BYTES_MAX) {
      return ReconfigurationVerdict.refused("the reason is " + command.getReasonBytes().size()
          + " bytes long; at most " + REASON_BYTES_MAX + " are accepted");
    }
    if (command.getEpoch() != e + 1) {
      return ReconfigurationVerdict.refused("the command names epoch " + Long.toUnsignedString(command.getEpoch())
          + ", but the group is in epoch " + e + " and the next one is " + (e + 1)
          + " (a command built from another epoch, or one that already took effect)");
    }
    ByteString digest = command.getPreviousMembershipDigest();
    if (digest.isEmpty()) {
      return ReconfigurationVerdict.refused("the command names no previous membership: it is bound to no group "
          + "(build it from the group's current membership)");
    }
    byte[] currentDigest = current.digest();
    if (!digest.equals(ByteString.copyFrom(currentDigest))) {
      return ReconfigurationVerdict.refused("the command was built for another membership: it changes the one with "
          + "digest " + shortHex(digest.toByteArray()) + "..., but epoch " + e + " of this group has digest "
          + shortHex(currentDigest) + "... (a command for another group, or for other members at epoch " + e + ")");
    }
    String signatures = checkSignatures ? signatureRefusal(current, command) : null;
    if (signatures != null) {
      return ReconfigurationVerdict.refused(signatures);
    }
    ReconfigurationVerdict named = membershipNamed(command);
    if (!named.isAccepted()) {
      return named;
    }
    Membership next = named.next();
    if (next.members().equals(current.members()) && next.f() == current.f()
        && next.administration().equals(admins)) {
      return ReconfigurationVerdict.refused("the command changes nothing: epoch " + (e + 1) + " would have the "
          + "members, f and administration keys of epoch " + e);
    }
    return ReconfigurationVerdict.accepted(next);
  }

  /**
   * The membership a command names for its epoch, if it is a valid one: each member's address
   * parses, the administration names keys, and {@link Membership#problem} finds nothing. Neither
   * the signatures nor the epoch before it are looked at: for a command already accepted (the one
   * that began the current epoch, kept in the replicated state) and as part of {@link #validate}.
   */
  public static ReconfigurationVerdict membershipNamed(Reconfiguration command) {
    long epoch = command.getEpoch();
    List<Member> members = new ArrayList<>(command.getMembersCount());
    for (int i = 0; i < command.getMembersCount(); i++) {
      ReconfigurationMember m = command.getMembers(i);
      String address = HostPort.problem(m.getAddress());
      if (address != null) {
        return ReconfigurationVerdict.refused("epoch " + epoch + " would be invalid: members[" + i + "] (replica "
            + Integer.toUnsignedString(m.getId()) + "): " + address);
      }
      HostPort hostPort = HostPort.parse(m.getAddress());
      members.add(new Member(m.getId(), hostPort.host(), hostPort.port(), m.getPublicKey().toByteArray(),
          m.getTlsCertificate().toByteArray()));
    }
    ReconfigurationAdministration a = command.getAdministration();
    if (a.getKeysCount() == 0) {
      return ReconfigurationVerdict.refused("epoch " + epoch + " would name no administration keys: nobody could "
          + "change the group again");
    }
    List<AdministrationKey> keys = new ArrayList<>(a.getKeysCount());
    a.getKeysList().forEach(k -> keys.add(new AdministrationKey(k.toByteArray())));
    Administration nextAdmins = new Administration(keys, a.getThreshold());
    String problem = Membership.problem(epoch, members, command.getF(), nextAdmins);
    if (problem != null) {
      return ReconfigurationVerdict.refused("epoch " + epoch + " would be invalid: " + problem);
    }
    return ReconfigurationVerdict.accepted(new Membership(epoch, members, command.getF(), nextAdmins));
  }

  /** Why the signatures do not authorize the command, or null when they do. */
  private static String signatureRefusal(Membership current, Reconfiguration command) {
    Administration admins = current.administration();
    byte[] signed = ReconfigurationSigning.signingBytes(command);
    BitSet signers = new BitSet(admins.keys().size());
    int strangers = 0;
    int repeated = 0;
    for (int i = 0; i < command.getSignaturesCount(); i++) {
      AdministrationSignature s = command.getSignatures(i);
      int k = admins.indexOf(s.getPublicKey().toByteArray());
      if (k < 0) {
        strangers++; // perhaps a key of the next epoch, or nobody's: it proves nothing here
        continue;
      }
      if (!ReconfigurationSigning.verifies(signed, s)) {
        return "signatures[" + i + "], by administration key " + k + " of epoch " + current.epoch() + " ("
            + admins.keys().get(k).shortName() + "...), does not verify: the command was changed after it was "
            + "signed, or the signature is forged";
      }
      if (signers.get(k)) {
        repeated++;
      }
      signers.set(k);
    }
    if (signers.cardinality() >= admins.threshold()) {
      return null;
    }
    StringBuilder reason = new StringBuilder("signed by ").append(signers.cardinality())
        .append(" distinct administration key").append(signers.cardinality() == 1 ? "" : "s").append(" of epoch ")
        .append(current.epoch()).append(", but ").append(admins.threshold()).append(" must sign");
    if (strangers > 0 || repeated > 0) {
      reason.append(" (not counted: ");
      if (strangers > 0) {
        reason.append(strangers).append(" by keys that are not administration keys of epoch ")
            .append(current.epoch());
      }
      if (repeated > 0) {
        reason.append(strangers > 0 ? ", " : "").append(repeated).append(" repeated");
      }
      reason.append(')');
    }
    return reason.toString();
  }

  /** The first 8 bytes in hex: enough to tell digests apart in a message. */
  static String shortHex(byte[] digest) {
    String hex = Digests.hex(digest);
    return hex.substring(0, Math.min(16, hex.length()));
  }

  /** The numbers of fields not in this version's schema, anywhere in the command, or null. */
  private static String unknownFields(Reconfiguration command) {
    TreeSet<String> found = new TreeSet<>();
    collect("", command.getUnknownFields(), found);
    for (int i = 0; i < command.getMembersCount(); i++) {
      collect("members[" + i + "].", command.getMembers(i).getUnknownFields(), found);
    }
    collect("administration.", command.getAdministration().getUnknownFields(), found);
    for (int i = 0; i < command.getSignaturesCount(); i++) {
      collect("signatures[" + i + "].", command.getSignatures(i).getUnknownFields(), found);
    }
    return found.isEmpty() ? null : String.join(", ", found);
  }

  private static void collect(String where, UnknownFieldSet fields, TreeSet<String> found) {
    fields.asMap().keySet().forEach(number -> found.add(where + "field " + number));
  }
}
