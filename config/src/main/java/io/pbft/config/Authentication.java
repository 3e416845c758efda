package io.pbft.config;

import java.util.Locale;

/**
 * How client requests are authenticated to the replicas (the top-level {@code authentication}
 * key of {@code cluster.yaml}).
 *
 * <ul>
 *   <li>{@link #MACS} (the default): each request carries an authenticator, one HMAC-SHA256 per
 *       replica under the key of the client's session with that replica (TOCS 2002, section
 *       3.2). A replica checks its own entry; one it cannot check (a faulty client, a session not
 *       yet up) is vouched for by the primary and f backups before it prepares. See
 *       docs/AUTHENTICATION.md.
 *   <li>{@link #SIGNATURES}: each request is Ed25519-signed by its client and every replica
 *       verifies the signature: any replica can prove to any other that the client sent it, at
 *       the price of one signature verification per request per replica.
 * </ul>
 *
 * PREPAREs and COMMITs between replicas carry MACs under pair keys in both modes (under {@code
 * signatures} unless {@code protocol.signedVotes} is 1); what must convince a third party
 * (PRE-PREPARE, CHECKPOINT, VIEW-CHANGE, NEW-VIEW, ...) is Ed25519-signed in both.
 */
public enum Authentication {
  MACS,
  SIGNATURES;

  /** As written in the file: {@code macs} or {@code signatures}. */
  public String yamlName() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static Authentication parse(String text) {
    for (Authentication a : values()) {
      if (a.yamlName().equals(text)) {
        return a;
      }
    }
    throw new ConfigException("authentication must be 'macs' or 'signatures', got '" + text + "'");
  }
}
