package io.pbft.config;

import java.util.ArrayList;
import java.util.List;

/**
 * The next configuration epoch, built from the current one and an operator's intent: add, remove,
 * replace or re-key members, set f, change the administration. A command names the whole next
 * membership, never a difference (docs/RECONFIGURATION.md), so this is where the intent becomes
 * the full list. Steps that cannot be right on their own (an unknown id, a key that does not
 * change) are refused at once; the rules of the whole epoch (n ≥ 3f + 1, distinct addresses and
 * keys) when it is {@link #build() built}, so that several steps may go into one change (add two
 * members, then raise f). Refusals are {@link ConfigException}s saying what to do instead. Not
 * thread-safe; made by {@link Membership#change()}.
 */
public final class MembershipChange {
  private final Membership from;
  private final List<Member> members;
  private int f;
  private Administration administration;
  private final List<String> steps = new ArrayList<>();

  MembershipChange(Membership from) {
    this.from = from;
    this.members = new ArrayList<>(from.members());
    this.f = from.f();
    this.administration = from.administration();
  }

  /**
   * The smallest id above every id of the current and the next epoch: what a new member gets
   * unless the operator names one.
   */
  public int nextFreeId() {
    int max = -1;
    for (Member m : from.members()) {
      max = Math.max(max, m.id());
    }
    for (Member m : members) {
      max = Math.max(max, m.id());
    }
    return max + 1;
  }

  /** Adds {@code member} at the end of the list (so the primary of view 0 stays who it was). */
  public MembershipChange add(Member member) {
    if (indexOf(member.id()) >= 0) {
      throw new ConfigException("replica " + member.id() + " is already a member; give the new one another id "
          + "(the next free one is " + nextFreeId() + "), or replace replica " + member.id());
    }
    members.add(member);
    steps.add("adding replica " + member.id());
    return this;
  }

  /** Removes member {@code id}. */
  public MembershipChange remove(int id) {
    members.remove(existing(id, "remove"));
    steps.add("removing replica " + id);
    return this;
  }

  /**
   * Member {@code id} on another machine: a new address and a new key (the old key may be on the
   * failed machine and must not speak for the group again). The address may stay the same.
   */
  public MembershipChange replace(int id, String host, int port, byte[] publicKey, byte[] tlsCertificate) {
    int i = existing(id, "replace");
    Member old = members.get(i);
    if (java.util.Arrays.equals(old.publicKey(), publicKey)) {
      throw new ConfigException("replacing replica " + id + " needs a new key: the one given is its current key");
    }
    members.set(i, new Member(id, host, port, publicKey, tlsCertificate));
    steps.add("replacing replica " + id);
    return this;
  }

  /** Member {@code id} under a new key, at the same address. */
  public MembershipChange rotateKey(int id, byte[] publicKey, byte[] tlsCertificate) {
    int i = existing(id, "rotate the key of");
    Member old = members.get(i);
    if (java.util.Arrays.equals(old.publicKey(), publicKey)) {
      throw new ConfigException("rotating the key of replica " + id + " needs a new key: the one given is its "
          + "current key");
    }
    members.set(i, old.withKey(publicKey, tlsCertificate));
    steps.add("rotating the key of replica " + id);
    return this;
  }

  /** Tolerate {@code faults} faults in the next epoch (it needs n ≥ 3f + 1 members). */
  public MembershipChange faults(int faults) {
    if (faults < 0) {
      throw new ConfigException("f must not be negative, got " + faults);
    }
    f = faults;
    steps.add("setting f to " + faults);
    return this;
  }

  /** Other administration keys or threshold for the next epoch (and every change after it). */
  public MembershipChange administration(Administration next) {
    if (next.isNone()) {
      throw new ConfigException("the next epoch needs administration keys: without them nobody could change the "
          + "group again");
    }
    String problem = next.problem();
    if (problem != null) {
      throw new ConfigException(problem);
    }
    administration = next.withoutKeyFiles();
    steps.add("changing the administration keys");
    return this;
  }

  /**
   * The next epoch. Refused when the current epoch has no administration keys (nobody may change
   * it), when the steps change nothing, or when the result breaks a rule of
   * {@link Membership#problem}.
   */
  public Membership build() {
    long epoch = from.epoch() + 1;
    if (from.administration().isNone()) {
      throw new ConfigException("epoch " + from.epoch() + " has no administration keys, so it cannot be changed "
          + "(cluster.yaml needs an administration section; see docs/RECONFIGURATION.md)");
    }
    if (members.equals(from.members()) && f == from.f() && administration.equals(from.administration())) {
      throw new ConfigException("the change leaves epoch " + from.epoch() + " as it is");
    }
    int n = members.size();
    if ((long) n < 3L * f + 1) {
      String hint = f > from.f() ? "add members first, or in the same change"
          : "lower f in the same change, or add a replica first";
      throw new ConfigException("epoch " + epoch + " would have " + n + " members after " + String.join(", ", steps)
          + ", fewer than 3f + 1 = " + (3L * f + 1) + " for f = " + f + ": " + hint);
    }
    String problem = Membership.problem(epoch, members, f, administration);
    if (problem != null) {
      throw new ConfigException("epoch " + epoch + " would be invalid after " + String.join(", ", steps) + ": "
          + problem);
    }
    return new Membership(epoch, members, f, administration);
  }

  private int existing(int id, String verb) {
    int i = indexOf(id);
    if (i < 0) {
      List<Integer> ids = new ArrayList<>();
      members.forEach(m -> ids.add(m.id()));
      throw new ConfigException("cannot " + verb + " replica " + id + ": it is not a member (members: " + ids + ")");
    }
    return i;
  }

  private int indexOf(int id) {
    for (int i = 0; i < members.size(); i++) {
      if (members.get(i).id() == id) {
        return i;
      }
    }
    return -1;
  }
}
