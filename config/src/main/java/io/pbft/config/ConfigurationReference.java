package io.pbft.config;

import java.util.List;

/**
 * Renders {@code docs/CONFIGURATION.md} from the declarations: every setting with its default,
 * range, unit and meaning, and every rule between settings. A test keeps the file and the
 * declarations in agreement.
 */
public final class ConfigurationReference {
  private ConfigurationReference() {}

  /** The groups documented, in order: the two sections of cluster.yaml, then the local launcher's. */
  public static final List<SettingsGroup<?>> GROUPS = List.of(ProtocolSettings.GROUP, TransportSettings.GROUP,
      LocalClusterSettings.GROUP);

  public static String markdown() {
    StringBuilder md = new StringBuilder();
    md.append("# Configuration reference\n\n");
    md.append("<!-- Generated from the declarations in config/src/main/java/io/pbft/config (ProtocolSettings,\n");
    md.append("     TransportSettings, ClusterConfig.RULES, LocalClusterSettings); do not edit by hand. After changing\n");
    md.append("     a declaration, regenerate with\n");
    md.append("     mvn -o -q -pl config -am test -Dtest=ConfigurationReferenceTest -Dsurefire.failIfNoSpecifiedTests=false -Dpbft.docs.update=true -->\n\n");
    md.append("`cluster.yaml` (written by `pbft keygen`, read by every replica and client) holds `f`, `replicas` and\n");
    md.append("`clients`, described in the [README](../README.md#configuration-file) (a replica's entry may name a\n");
    md.append("Prometheus endpoint, `metrics: PORT` on 127.0.0.1 or `metrics: HOST:PORT`, none when absent: see\n");
    md.append("[METRICS.md](METRICS.md)), `authentication` (how clients\n");
    md.append("authenticate requests: `macs`, the default, or `signatures`; see [AUTHENTICATION.md](AUTHENTICATION.md)),\n");
    md.append("`administration` (the keys that may sign changes of the group, below), and the two settings sections\n");
    md.append("below, `protocol` and `transport`. A section may give any subset of its keys; the others keep their\n");
    md.append("defaults. Every value is an integer in its range: a value out of range, an unknown key, a fraction, text\n");
    md.append("or an empty value is rejected with a message naming the key, for example\n");
    md.append("`protocol.viewChangeTimeoutMs must be between 50 and 600000 ms, got 10`.\n");
    tls(md);
    administration(md);
    for (SettingsGroup<?> group : GROUPS) {
      md.append("\n## ").append(group.title()).append("\n\n");
      md.append(group.doc()).append("\n\n");
      md.append("| Key | Default | Range | Unit | Meaning |\n");
      md.append("| --- | ---: | --- | --- | --- |\n");
      for (Setting s : group.settings()) {
        md.append("| `").append(s.key()).append("` | ").append(amount(s.defaultValue(), s.unit())).append(" | ")
            .append(amount(s.min(), s.unit())).append(" to ").append(amount(s.max(), s.unit())).append(" | ")
            .append(s.unit()).append(" | ").append(cell(s.doc())).append(" |\n");
      }
      rules(md, "Rules between these settings:", group.rules());
      if (group == TransportSettings.GROUP) {
        md.append("\n## Rules between the sections\n\n");
        md.append("Checked where both sections and the number of replicas n are known (`ClusterConfig`):\n\n");
        for (SettingsRule<?> r : ClusterConfig.RULES) {
          md.append("- ").append(r.doc()).append('\n');
        }
      }
    }
    return md.toString();
  }

  /** The {@code tls:} section ({@link TlsConfig}): file names, not numbers, so written out here. */
  private static void tls(StringBuilder md) {
    md.append("\n## TLS (`tls`)\n\n");
    md.append("Whether every link is TLS, and where the certificates are (see the README's TLS section). Paths are\n");
    md.append("relative to the directory of `cluster.yaml` (or absolute). Files are PEM: certificates (a leaf, then any\n");
    md.append("intermediates) and unencrypted private keys (PKCS#8 `PRIVATE KEY`, or `EC PRIVATE KEY`). The CA\n");
    md.append("certificate is read and checked when the configuration is loaded; an identity's certificate and key when\n");
    md.append("it is used (a replica at its start, `pbft status` for the operator's), so a machine needs only its own.\n\n");
    md.append("| Key | Default | Meaning |\n");
    md.append("| --- | --- | --- |\n");
    md.append("| `tls.enabled` | `true` when the section is present; a file without `tls:` is plaintext | TLS on every link. "
        + "`false`: plaintext, as before TLS existed. Also `--set tls.enabled=false` where a command takes `--set`. |\n");
    md.append("| `tls.caCertFile` | required when enabled; keygen: `" + TlsConfig.CA_CERT_FILE + "` | The CA certificate(s) "
        + "every party trusts: replicas check peers' and clients' certificates against it, callers the replicas'. "
        + "Must be a CA (basicConstraints CA:true) and valid now. |\n");
    md.append("| `tls.replicas` | `[]`: replica I uses `" + TlsConfig.replicaLayout(0).certFile().replace("0", "I") + "` and `"
        + TlsConfig.replicaLayout(0).keyFile().replace("0", "I") + "` | List of `{id, certFile, keyFile}`: replica id's "
        + "certificate (subject CN `replica-<id>`, SANs the host it is dialled at) and key. |\n");
    md.append("| `tls.clients` | `[]`: client J uses `" + TlsConfig.clientLayout(0).certFile().replace("0", "J") + "` and `"
        + TlsConfig.clientLayout(0).keyFile().replace("0", "J") + "` | List of `{id, certFile, keyFile}`: the optional "
        + "client certificates (CN `client-<id>`). |\n");
    md.append("| `tls.operator` | `{certFile: " + TlsConfig.operatorLayout().certFile() + ", keyFile: "
        + TlsConfig.operatorLayout().keyFile() + "}` | The operator's certificate (CN `operator`), presented by "
        + "`pbft status`: the Status RPC answers only callers with a certificate from the CA. |\n\n");
    md.append("Each file is checked with a message naming it: missing, a key that does not match its certificate, a\n");
    md.append("certificate expired or not yet valid, or one not issued by `caCertFile`. Replicas reload their\n");
    md.append("certificate, key and CA files when they change (polled every 2 s) without a restart.\n");
  }

  /** The {@code administration:} section ({@link Administration}): keys, not numbers, so written out here. */
  private static void administration(StringBuilder md) {
    md.append("\n## Administration keys (`administration`)\n\n");
    md.append("Who may change the group at run time ([RECONFIGURATION.md](RECONFIGURATION.md)): Ed25519 public keys of\n");
    md.append("the operators and how many of them must sign a change. Optional: a file without the section has no\n");
    md.append("administration keys, and its group cannot be changed at run time. `pbft keygen --admin-keys K --admin-threshold T`\n");
    md.append("writes K keys to `" + ClusterSetup.administrationKeyFile(0).replace("0", "I")
        + "` (readable by their owner only) and names them here.\n\n");
    md.append("```yaml\n");
    md.append("administration:\n");
    md.append("  threshold: 2               # distinct keys that must sign a change; 1 when absent\n");
    md.append("  keys:\n");
    md.append("  - publicKey: 3b6a...       # Ed25519, hex, like a replica's\n");
    md.append("    keyFile: keys/admin-0.key  # optional: where the private key is, on the operator's machine\n");
    md.append("  - {publicKey: 8f0c...}\n");
    md.append("  - {publicKey: d241...}\n");
    md.append("```\n\n");
    md.append("| Key | Default | Meaning |\n");
    md.append("| --- | --- | --- |\n");
    md.append("| `administration.keys` | required when the section is present | List of `{publicKey, keyFile}`: at least "
        + "one key, at most " + Administration.KEYS_MAX + ", each a valid Ed25519 public key listed once and not a "
        + "replica's key (a replica must not be able to change the group on its own). `keyFile` is optional and "
        + "relative to the directory of `cluster.yaml`; the replicas never need it. |\n");
    md.append("| `administration.threshold` | 1 | How many distinct keys must sign a change: 1 to the number of keys. |\n\n");
    md.append("A bad section is rejected with a message naming the field, for example\n");
    md.append("`administration.keys[2]: publicKey is listed twice (also administration.keys[0])` or\n");
    md.append("`administration.threshold must be between 1 and 3 (the number of keys), got 4`.\n");
  }

  private static void rules(StringBuilder md, String heading, List<? extends SettingsRule<?>> rules) {
    if (rules.isEmpty()) {
      return;
    }
    md.append('\n').append(heading).append("\n\n");
    for (SettingsRule<?> r : rules) {
      md.append("- ").append(r.doc()).append('\n');
    }
  }

  /** The value, and for whole KiB, MiB or GiB of bytes that reading as well: 4194304 (4 MiB). */
  static String amount(int value, String unit) {
    if (!unit.equals("bytes") || value < 1024) {
      return Integer.toString(value);
    }
    String[] names = {"GiB", "MiB", "KiB"};
    int[] shifts = {30, 20, 10};
    for (int i = 0; i < shifts.length; i++) {
      int size = 1 << shifts[i];
      if (value % size == 0) {
        return value + " (" + (value / size) + " " + names[i] + ")";
      }
    }
    return Integer.toString(value);
  }

  private static String cell(String text) {
    return text.replace("|", "\\|");
  }
}
