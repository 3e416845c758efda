package io.pbft.config;

/**
 * Where a replica serves its Prometheus metrics over HTTP ({@code GET /metrics}): the {@code
 * metrics} field of its entry in {@code cluster.yaml}, or {@code pbft replica --metrics}. Written
 * {@code PORT} (then on 127.0.0.1), {@code HOST:PORT} or {@code [IPv6]:PORT}.
 *
 * <p>A bare port binds the loopback address on purpose: the endpoint has no authentication, and
 * what it tells (traffic, clients connected, drops by reason) is for the operator, so reaching it
 * from elsewhere is a choice the configuration states. Port 0 takes any free port (tests).
 */
public record MetricsAddress(String host, int port) {
  /** The host a bare port binds. */
  public static final String LOOPBACK = "127.0.0.1";

  public MetricsAddress {
    if (host == null || host.isBlank()) {
      throw new ConfigException("metrics: the host is empty");
    }
    if (port < 0 || port > 65535) {
      throw new ConfigException("metrics: port " + port + " is out of range");
    }
  }

  /** {@code PORT}, {@code HOST:PORT} or {@code [IPv6]:PORT}; a {@link ConfigException} says what is wrong. */
  public static MetricsAddress parse(String text) {
    String s = text == null ? "" : text.strip();
    if (s.isEmpty()) {
      throw new ConfigException("metrics: expected PORT or HOST:PORT, got an empty value");
    }
    int colon = s.lastIndexOf(':');
    String host = LOOPBACK;
    String port = s;
    if (colon >= 0) {
      host = s.substring(0, colon);
      port = s.substring(colon + 1);
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1);
      } else if (host.contains(":")) {
        throw new ConfigException("metrics: write an IPv6 host in brackets, [" + host + "]:PORT; got '" + s + "'");
      }
    }
    try {
      return new MetricsAddress(host, Integer.parseInt(port));
    } catch (NumberFormatException e) {
      throw new ConfigException("metrics: port in '" + s + "' is not a number");
    }
  }

  /** As the configuration writes it: {@code HOST:PORT}, an IPv6 host in brackets. */
  @Override
  public String toString() {
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
  }
}
