#!/usr/bin/env python3
"""Reads an agency's inbox topic over TLS and SASL/SCRAM with confluent-kafka
(Debian's python3-confluent-kafka), prints each message (one JSON object a
line, schemas/events/delivery.schema.json) and acknowledges its packet
through REST (POST /v1/inbox/{id}/ack). The offset is committed only after
the ack: a packet is acknowledged at least once, never skipped.

Settings, from the environment (scripts/examples/README.md): KAFKA_BROKERS,
KAFKA_CA, KAFKA_USER, KAFKA_PASSWORD, KAFKA_MECHANISM (default
SCRAM-SHA-512), KAFKA_TOPIC, KAFKA_GROUP, LIENTHONG_HUB (default
http://127.0.0.1:8080), LIENTHONG_TOKEN.

--idle SECONDS exits after that long without a message (0, the default,
follows the topic until interrupted).
"""

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request

from confluent_kafka import Consumer, KafkaException


def ack(hub, token, packet_id):
    """POST /v1/inbox/{id}/ack; True if acknowledged now or before."""
    req = urllib.request.Request(
        f"{hub}/v1/inbox/{packet_id}/ack",
        data=json.dumps({"result": "done"}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=30):
            print(f"acked {packet_id}", file=sys.stderr)
    except urllib.error.HTTPError as e:
        if e.code != 404:  # 404: no longer pending (delivery is at least once)
            raise
        print(f"already acknowledged {packet_id}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--idle", type=float, default=0, help="exit after SECONDS without a message")
    args = ap.parse_args()
    env = os.environ
    hub = env.get("LIENTHONG_HUB", "http://127.0.0.1:8080").rstrip("/")
    token = env["LIENTHONG_TOKEN"]
    consumer = Consumer({
        "bootstrap.servers": env["KAFKA_BROKERS"],
        "security.protocol": "SASL_SSL",
        "sasl.mechanisms": env.get("KAFKA_MECHANISM", "SCRAM-SHA-512"),
        "sasl.username": env["KAFKA_USER"],
        "sasl.password": env["KAFKA_PASSWORD"],
        "ssl.ca.location": env["KAFKA_CA"],
        "group.id": env["KAFKA_GROUP"],
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    consumer.subscribe([env["KAFKA_TOPIC"]])
    last = time.monotonic()
    try:
        while not args.idle or time.monotonic() - last < args.idle:
            msg = consumer.poll(1.0)
            if msg is None:
                continue
            if msg.error():
                raise KafkaException(msg.error())
            last = time.monotonic()
            event = json.loads(msg.value())
            print(json.dumps(event, ensure_ascii=False), flush=True)
            ack(hub, token, event["id"])
            consumer.commit(message=msg, asynchronous=False)
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()


if __name__ == "__main__":
    main()
