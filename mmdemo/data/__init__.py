"""Dataset readers, one module per dataset: what the library, the evaluate CLI and the trainers
read from disk. Each names the layout it reads and fails with an ``InputError`` (or ``ValueError``)
that names the file at fault. Synthetic generators live in ``training/data/``.

medvidqa (questions, caption corpus, off-topic set), clotho (audio captions), tau (TAU Urban
Audio-Visual Scenes 2021), cityscapes, squad (SQuAD v1.1/v2.0, COVID-QA), caption_annotations
(MSRVTT, transcripts), opensfx (OpenTTD's sound catalogue).
"""
