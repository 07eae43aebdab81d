"""Event sources: MQTT (:mod:`ingest.sources.mqtt`) and files (:mod:`ingest.sources.files`)."""
