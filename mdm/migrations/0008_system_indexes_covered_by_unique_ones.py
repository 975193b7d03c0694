
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """Look-ups by system use the unique indexes that start with the system; the system-only
    indexes misled the planner whenever its statistics lagged behind a system's growth."""

    dependencies = [
        ('mdm', '0007_blocking_key_covering_index'),
    ]

    operations = [
        migrations.AlterField(
            model_name='crossreference',
            name='system',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='xrefs', to='mdm.sourcesystem'),
        ),
        migrations.AlterField(
            model_name='sourcerecord',
            name='system',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='records', to='mdm.sourcesystem'),
        ),
    ]
