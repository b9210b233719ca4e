"""The "Audio search" tab: find sounds by describing them, or by playing one like them.

A person's last hits (names, scores, file paths: a few hundred bytes) stay in their ``gr.State``
so that a click on a row plays it; the spectrograms go to the plot only, and the State expires.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from mmdemo.pipelines.search_audio import CAPTIONS_FILE, MAX_TOP_K, AudioHit, AudioSearch, AudioSearchResult
from mmdemo.ui.failures import shows_errors
from mmdemo.ui.model_card import add_model_card, load_note
from mmdemo.ui.plots import spectrogram_figure

EXAMPLES = [
    "slow high beeps",
    "a bell ringing slowly, fading away",
    "a rising sweep followed by fast clicks",
    "a low electric buzz that gets louder",
]
HIT_HEADERS = ["#", "clip", "score", "caption"]
CAPTION_HEADERS = ["#", "known caption", "of clip", "score"]


def hit_rows(result: AudioSearchResult) -> list[list[Any]]:
    return [[i + 1, h.clip_id, round(h.score, 3), h.caption] for i, h in enumerate(result.hits)]


def caption_rows(result: AudioSearchResult) -> list[list[Any]]:
    return [[i + 1, c["caption"], c["clip_id"], c["score"]] for i, c in enumerate(result.captions)]


def playing_text(hits: list[AudioHit], index: int) -> str:
    hit = hits[index]
    caption = f": “{hit.caption}”" if hit.caption else ""
    return f"Playing #{index + 1} **{hit.clip_id}** (score {hit.score:.3f}){caption}"


def header_markdown(search: AudioSearch) -> str:
    if not search.available():
        return ("No audio search model or sound collection is installed here (expected a checkpoint folder "
                f"{search.root.name} and a collection {search.collection_dir.name} with {CAPTIONS_FILE}).")
    facts = search.describe()
    return (f"**Collection:** {facts['clips']} clips of {facts['collection']}: synthetic tones and noises · "
            f"**Model:** {facts['models'][0].name}, a dual encoder (audio and text in one 1024-d space), trained on "
            "synthetic sounds only: descriptions of real-world sounds are outside what it knows"
            f"{load_note(search.settings.warm_up)}")


def shown(result: AudioSearchResult) -> tuple:
    """The outputs both searches share: JSON, hits table, first clip, its line, spectrograms, hits to keep."""
    scores = [h.score for h in result.hits]
    first = str(result.hits[0].path) if result.hits else None
    return (result.to_json(), hit_rows(result), first, playing_text(result.hits, 0) if result.hits else "",
            spectrogram_figure(result.spectrograms, scores), result.hits)


def build_tab(search: AudioSearch) -> None:
    """Lay out the tab inside the current ``gr.Blocks`` and wire its events."""
    with gr.Tab("Audio search"):
        hits_state = gr.State(None, time_to_live=search.settings.session_ttl_seconds)  # this person's last hits
        gr.Markdown(header_markdown(search), elem_id="audio-status")
        add_model_card(search.describe()["models"], "audio-card")
        with gr.Row():
            with gr.Column(scale=2):
                query = gr.Textbox(label="Describe a sound", placeholder="a dog barks while rain falls on a tin roof",
                                   max_lines=2, elem_id="audio-query")
                search_text = gr.Button("Search sounds", variant="primary", elem_id="audio-submit")
                gr.Examples(examples=[[q] for q in EXAMPLES], inputs=[query], label="Example descriptions")
                example_sound = gr.Audio(label="…or search with a recording", type="filepath",
                                         sources=["upload", "microphone"], elem_id="audio-upload")
                search_sound = gr.Button("Find similar sounds", elem_id="audio-submit-recording")
                top_k = gr.Slider(1, MAX_TOP_K, value=5, step=1, label="Results to list")
            with gr.Column(scale=3):
                playing = gr.Markdown("Search to hear the best match.", label="playing", elem_id="audio-playing")
                player = gr.Audio(label="Selected clip", type="filepath", interactive=False, autoplay=True,
                                  elem_id="audio-player")
                note = gr.Markdown(label="note", elem_id="audio-note")
                hits = gr.Dataframe(headers=HIT_HEADERS, label="Best matches (click a row to play it)",
                                    interactive=False, wrap=True, elem_id="audio-hits")
                captions = gr.Dataframe(headers=CAPTION_HEADERS, label="Known captions nearest to your recording",
                                        interactive=False, wrap=True, elem_id="audio-captions")
        spectrograms = gr.Plot(label="Log-mel spectrograms of the matches (what the model hears)")
        with gr.Accordion("API answer (JSON)", open=False):
            raw = gr.JSON(label="API answer (JSON)")

        def search_audio(query, top_k=5, progress=gr.Progress()):
            return shown(search.search_text(query, int(top_k), progress=progress))

        def search_by_audio(recording, top_k=5, progress=gr.Progress()):
            result = search.search_audio(recording, int(top_k), progress=progress)
            return (*shown(result), caption_rows(result), result.note)

        def play_row(found: list[AudioHit] | None, event: gr.SelectData):
            if not found:
                raise gr.Error("Search first, then pick a clip to play.", title="Nothing to play yet")
            index = min(int(event.index[0]), len(found) - 1)
            return str(found[index].path), playing_text(found, index)

        common = [raw, hits, player, playing, spectrograms, hits_state]
        gr.on(triggers=[search_text.click, query.submit], fn=shows_errors(search_audio, common, playing), inputs=[query, top_k], outputs=common,
              api_name="search_audio", api_description="Sounds in the collection that match a description, best first.")
        search_sound.click(shows_errors(search_by_audio, [*common, captions, note], playing), inputs=[example_sound, top_k],
                           outputs=[*common, captions, note],
                           api_name="search_by_audio",
                           api_description="Sounds in the collection closest to a recording, and the nearest known captions.")
        hits.select(play_row, inputs=[hits_state], outputs=[player, playing], api_visibility="private")
