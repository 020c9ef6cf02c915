// Reads an agency's inbox topic over TLS and SASL/SCRAM with the Apache
// Kafka Java client (org.apache.kafka:kafka-clients, 3.x or 4.x), prints each
// message (schemas/events/delivery.schema.json) and acknowledges its packet
// through REST (POST /v1/inbox/{id}/ack). Offsets are committed after the
// acks, so a packet is acknowledged at least once, never skipped.
//
// Settings from the environment, as kcat.sh and consume.py: KAFKA_BROKERS,
// KAFKA_CA (PEM), KAFKA_USER, KAFKA_PASSWORD, KAFKA_MECHANISM (default
// SCRAM-SHA-512), KAFKA_TOPIC, KAFKA_GROUP, LIENTHONG_HUB, LIENTHONG_TOKEN.
// See README.md beside this file for how to build and run it.

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;

public final class InboxConsumer {
  public static void main(String[] args) throws Exception {
    String hub = System.getenv().getOrDefault("LIENTHONG_HUB", "http://127.0.0.1:8080");
    String token = env("LIENTHONG_TOKEN");
    String mechanism = System.getenv().getOrDefault("KAFKA_MECHANISM", "SCRAM-SHA-512");

    Properties p = new Properties();
    p.put("bootstrap.servers", env("KAFKA_BROKERS"));
    p.put("security.protocol", "SASL_SSL");
    p.put("sasl.mechanism", mechanism);
    p.put("sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required"
        + " username=\"" + jaas(env("KAFKA_USER")) + "\" password=\"" + jaas(env("KAFKA_PASSWORD")) + "\";");
    // The broker's CA as PEM, no keystore needed (Kafka clients 2.7+).
    p.put("ssl.truststore.type", "PEM");
    p.put("ssl.truststore.certificates", Files.readString(Path.of(env("KAFKA_CA"))));
    p.put("group.id", env("KAFKA_GROUP"));
    p.put("auto.offset.reset", "earliest");
    p.put("enable.auto.commit", "false");
    p.put("key.deserializer", StringDeserializer.class.getName());
    p.put("value.deserializer", StringDeserializer.class.getName());

    HttpClient http = HttpClient.newHttpClient();
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(p)) {
      consumer.subscribe(List.of(env("KAFKA_TOPIC")));
      while (true) {
        ConsumerRecords<String, String> records = consumer.poll(Duration.ofSeconds(1));
        for (ConsumerRecord<String, String> r : records) {
          System.out.println(r.value());
          ack(http, hub, token, r.key()); // the key is the packet id
        }
        if (!records.isEmpty()) {
          consumer.commitSync();
        }
      }
    }
  }

  // POST /v1/inbox/{id}/ack; 404 means no longer pending: acknowledged
  // before (delivery is at least once).
  static void ack(HttpClient http, String hub, String token, String id) throws Exception {
    HttpRequest req = HttpRequest.newBuilder(URI.create(hub + "/v1/inbox/" + id + "/ack"))
        .header("Authorization", "Bearer " + token)
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"result\":\"done\"}"))
        .build();
    int status = http.send(req, HttpResponse.BodyHandlers.discarding()).statusCode();
    if (status == 200) {
      System.err.println("acked " + id);
    } else if (status == 404) {
      System.err.println("already acknowledged " + id);
    } else {
      throw new IllegalStateException("ack " + id + ": HTTP " + status);
    }
  }

  static String env(String name) {
    String v = System.getenv(name);
    if (v == null || v.isEmpty()) {
      throw new IllegalArgumentException(name + " is not set");
    }
    return v;
  }

  // Quotes a value for the JAAS configuration string.
  static String jaas(String v) {
    return v.replace("\\", "\\\\").replace("\"", "\\\"");
  }
}
