package io.pbft.config;

/** A cluster configuration or key file that cannot be used; the message says why and where. */
public final class ConfigException extends RuntimeException {
  public ConfigException(String message) {
    super(message);
  }

  public ConfigException(String message, Throwable cause) {
    super(message, cause);
  }
}
