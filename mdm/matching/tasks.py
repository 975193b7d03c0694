"""Celery tasks for batch matching split into chunks (see ``chunks``).

    from celery import chord
    from mdm.matching.chunks import make_chunks
    from mdm.matching.tasks import merge_chunk_results, score_chunk

    params = matcher.to_dict()
    chord(score_chunk.s(params, c) for c in make_chunks(table, ids, ia, ib))(merge_chunk_results.s())
"""

from __future__ import annotations

from celery import shared_task

from mdm.matching import chunks


@shared_task(name="mdm.matching.score_chunk", acks_late=True)
def score_chunk(params: dict, chunk: dict) -> dict:
    """Score one chunk of candidate pairs with serialised matcher parameters."""
    return chunks.score_chunk(params, chunk)


@shared_task(name="mdm.matching.merge_chunk_results")
def merge_chunk_results(results: list[dict]) -> dict:
    """Chord callback: all chunks' pairs at or above review, in one result."""
    return chunks.merge_results(results)
