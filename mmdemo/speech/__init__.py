"""Speech recognition: what is said in a clip, as timed caption lines, for clips without subtitles.

``model`` finds the Whisper model (the bundled Whisper base by default), ``transcriber`` runs it
window by window, ``lines`` groups its words into captions, ``cache`` keeps finished transcripts.
"""
