
from django.db import migrations, models


class Migration(migrations.Migration):
    """The blocking-key index carries golden_id: block members are read from the index alone."""

    dependencies = [
        ('mdm', '0006_golden_cursor_indexes'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='blockingkey',
            index=models.Index(fields=['entity_type', 'key'], include=('golden_id',), name='blocking_key_cover_idx'),
        ),
        migrations.RemoveIndex(
            model_name='blockingkey',
            name='blocking_key_idx',
        ),
    ]
