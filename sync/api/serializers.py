from rest_framework import serializers

from sync.models import Delivery


class DeliverySerializer(serializers.ModelSerializer):
    system = serializers.CharField(source="system.code", read_only=True)
    idempotency_key = serializers.UUIDField(source="id", read_only=True)

    class Meta:
        model = Delivery
        fields = ("id", "idempotency_key", "system", "entity_type", "golden_id", "version", "change", "status",
                  "attempts", "next_attempt_at", "last_error", "error_category", "response_status",
                  "response_body", "target_id", "duration_ms", "latency_ms", "correlation_id", "replay_count",
                  "replayed_by", "replayed_at", "created_at", "delivered_at", "updated_at")
        read_only_fields = fields


class ReplayDeadResultSerializer(serializers.Serializer):
    system = serializers.CharField()
    replayed = serializers.IntegerField()
    stale = serializers.IntegerField(help_text="Dead deliveries left alone: a newer version was delivered since.")


class SystemHealthSerializer(serializers.Serializer):
    system = serializers.CharField()
    active = serializers.BooleanField()
    pending = serializers.IntegerField()
    delivered = serializers.IntegerField()
    failed = serializers.IntegerField()
    dead = serializers.IntegerField()
    retrying = serializers.IntegerField()
    problems = serializers.DictField(child=serializers.IntegerField())
    delivered_last_hour = serializers.IntegerField()
    throughput_per_s = serializers.FloatField()
    p50_ms = serializers.IntegerField(allow_null=True)
    p95_ms = serializers.IntegerField(allow_null=True)
    last_delivered_at = serializers.DateTimeField(allow_null=True)
