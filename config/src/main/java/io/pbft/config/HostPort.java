package io.pbft.config;

/**
 * A replica's address as members of a configuration epoch name it: {@code host:port}. Read
 * strictly, because a reconfiguration command is checked the same way on every replica and the
 * addresses of its members must be told apart exactly: the host is not blank and holds no
 * whitespace or control character, the port is 1 to 65535 written in plain digits (no sign, no
 * leading zero). Hosts compare without regard to case, as DNS names do.
 */
public record HostPort(String host, int port) {
  public HostPort {
    String problem = problem(host, port);
    if (problem != null) {
      throw new ConfigException(problem);
    }
  }

  /** {@code host:port}, the port after the last colon; throws {@link ConfigException} naming what is wrong. */
  public static HostPort parse(String address) {
    String problem = problem(address);
    if (problem != null) {
      throw new ConfigException(problem);
    }
    int colon = address.lastIndexOf(':');
    return new HostPort(address.substring(0, colon), Integer.parseInt(address.substring(colon + 1)));
  }

  /** What is wrong with {@code address} as {@code host:port}, or null. */
  public static String problem(String address) {
    if (address == null) {
      return "address is missing";
    }
    int colon = address.lastIndexOf(':');
    if (colon <= 0 || colon == address.length() - 1) {
      return "address '" + address + "' is not host:port";
    }
    String port = address.substring(colon + 1);
    if (port.length() > 5 || !port.chars().allMatch(c -> c >= '0' && c <= '9') || port.charAt(0) == '0') {
      return "address '" + address + "': port '" + port + "' is not a number from 1 to 65535";
    }
    return problem(address.substring(0, colon), Integer.parseInt(port));
  }

  private static String problem(String host, int port) {
    if (host == null || host.isBlank()) {
      return "address: the host is missing";
    }
    if (!host.codePoints().allMatch(c -> c > ' ' && !Character.isWhitespace(c) && !Character.isISOControl(c))) {
      return "address: host '" + host + "' contains whitespace or a control character";
    }
    if (port < 1 || port > 65535) {
      return "address " + host + ":" + port + ": port " + port + " is out of range (1 to 65535)";
    }
    return null;
  }

  /** The form members are compared by: the host in lower case. */
  public String normalized() {
    return host.toLowerCase(java.util.Locale.ROOT) + ":" + port;
  }

  @Override
  public String toString() {
    return host + ":" + port;
  }
}
