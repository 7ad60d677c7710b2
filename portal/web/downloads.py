"""Files the app writes for a download (exports): streamed, never cached, never sniffed."""

from flask import Response, stream_with_context


def streamed_download(chunks, filename, mimetype):
    """A response streaming `chunks` (an iterable, run inside the request's context) as the
    attachment `filename`; the name is one the app made, never one a user typed."""
    return Response(
        stream_with_context(chunks),
        mimetype=mimetype,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
