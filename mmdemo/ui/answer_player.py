"""The answer in context: the whole video, a bar marking the answer, a transcript that follows playback.

``gr.Video`` plays the file and this module draws what sits under it: a timeline bar with the
answer span and the playhead, and the transcript with one button per caption. A small script
(``FOLLOW_PLAYBACK_JS``) ties them to the player: a new answer seeks the video to the answer's
start, playback highlights and scrolls to the current line, and clicking a line seeks to it.
Everything is drawn from caption times in the source video; ``offset`` is the source time at
the played file's zero (a cut clip starts at its cut), so one transcript works for both.
"""

from __future__ import annotations

import html
import uuid
from collections.abc import Sequence

from mmdemo.media.subtitles import Caption

PLAYER_ELEM_ID = "qa-clip"  # the gr.Video the script drives

FOLLOW_PLAYBACK_JS = """
const player = () => document.querySelector('#%(player)s video');
const view = () => element.querySelector('.answer-context');
const number = (node, key) => parseFloat(node.dataset[key]);
let positioned = null;  // the answer the player was last moved to
function seek(seconds) {
  const video = player(), box = view();
  if (!video || !box) return;
  video.currentTime = Math.max(0, seconds - number(box, 'offset'));
}
function toAnswer() {
  const video = player(), box = view();
  if (!video || !box || video.readyState < 1 || box.dataset.key === positioned) return;
  positioned = box.dataset.key;
  seek(number(box, 'start'));
}
function follow(sourceSeconds) {
  const box = view();
  if (!box) return;
  const now = box.querySelector('.playhead');
  const total = number(box, 'duration');
  if (now && total > 0) now.style.left = Math.min(100, 100 * sourceSeconds / total) + '%%';
  let current = null;
  box.querySelectorAll('.cue').forEach(cue => {
    const on = number(cue, 'start') <= sourceSeconds && sourceSeconds < number(cue, 'end');
    cue.classList.toggle('playing', on);
    if (on) current = cue;
  });
  const list = box.querySelector('.cues');
  if (current && list) list.scrollTop = current.offsetTop - list.offsetTop - list.clientHeight / 3;
}
element.addEventListener('click', event => {
  const cue = event.target.closest('.cue');
  if (!cue) return;
  seek(number(cue, 'start'));
  const video = player();
  if (video) video.play().catch(() => {});
});
document.addEventListener('loadedmetadata', event => {
  if (event.target.closest && event.target.closest('#%(player)s')) { positioned = null; toAnswer(); }
}, true);
document.addEventListener('timeupdate', event => {
  const box = view();
  if (box && event.target.closest && event.target.closest('#%(player)s')) follow(event.target.currentTime + number(box, 'offset'));
}, true);
watch('value', toAnswer);
""" % {"player": PLAYER_ELEM_ID}

CONTEXT_CSS = """
.answer-context .timebar { position: relative; height: 14px; border-radius: 7px; background: #e5e7eb; margin: 4px 0 8px; }
.answer-context .span { position: absolute; top: 0; bottom: 0; border-radius: 7px; background: #16a34a; opacity: 0.75; }
.answer-context .playhead { position: absolute; top: -3px; bottom: -3px; width: 2px; background: #111827; left: 0; }
.answer-context .times { display: flex; justify-content: space-between; font-size: 12px; color: #4b5563; }
.answer-context .cues { list-style: none; margin: 0; padding: 0; max-height: 220px; overflow-y: auto; position: relative; }
.answer-context .cue { display: block; width: 100%; text-align: left; border: 0; background: none; padding: 3px 6px;
  border-radius: 4px; cursor: pointer; font: inherit; color: inherit; }
.answer-context .cue:hover { background: #f3f4f6; }
.answer-context .cue.in-answer { border-left: 3px solid #16a34a; }
.answer-context .cue.playing { background: #dcfce7; font-weight: 600; }
.answer-context .cue time { color: #6b7280; margin-right: 8px; font-variant-numeric: tabular-nums; }
"""


def clock(seconds: float) -> str:
    """m:ss.s, the way the answer text writes times."""
    minutes, rest = divmod(max(0.0, seconds), 60)
    return f"{int(minutes)}:{rest:04.1f}"


def context_html(captions: Sequence[Caption], start: float, end: float, duration: float | None,
                 offset: float = 0.0) -> str:
    """The span bar and the clickable transcript of one answer; empty when there is nothing to show.

    ``captions``: the whole transcript of the answer's video (times in the source video);
    ``offset``: the source time at the played file's zero. Caption text is escaped: subtitles are
    uploaded data, never markup.
    """
    if not captions and duration is None:
        return ""
    total = max(duration or 0.0, end, max((c.end for c in captions), default=0.0))
    left, width = (100 * start / total, 100 * (end - start) / total) if total > 0 else (0.0, 0.0)
    lines = "".join(
        f'<li><button type="button" class="cue{" in-answer" if c.end > start and c.start < end else ""}" '
        f'data-start="{c.start:.3f}" data-end="{c.end:.3f}"><time>{clock(c.start)}</time>{html.escape(c.text)}</button></li>'
        for c in captions
    )
    return (
        f'<div class="answer-context" data-key="{uuid.uuid4().hex}" data-start="{start:.3f}" data-end="{end:.3f}" '
        f'data-offset="{offset:.3f}" data-duration="{total:.3f}">'
        f'<div class="timebar" title="answer {clock(start)} – {clock(end)}">'
        f'<div class="span" style="left:{left:.2f}%;width:{max(width, 0.5):.2f}%"></div><div class="playhead"></div></div>'
        f'<div class="times"><span>0:00.0</span><span>answer {clock(start)} – {clock(end)}</span><span>{clock(total)}</span></div>'
        f'<ol class="cues">{lines}</ol></div>'
    )
