"""Our BLEU-1..4, ROUGE-L and CIDEr-D against coco-caption's own scorers (pycocoevalcap), on the same inputs.

pycocoevalcap's Bleu, Rouge and Cider are pure Python; its METEOR and SPICE need Java and are
not compared (ours is labelled as an exact-match approximation instead). Both sides get the
same tokens: coco-caption's scorers split on spaces what its PTB tokenizer (Java) would have
produced, so every caption here is already lower case, punctuation-free and space-separated,
which ``tokenize`` leaves as it is. coco-caption reports fractions; ours are x100.
"""

import random

import pytest

from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.rouge.rouge import Rouge

from mmdemo.metrics.captioning import bleu, cider_d, rouge_l, tokenize

CORPORA = {
    "msrvtt-like": (
        ["a man is cooking pasta in a kitchen", "a woman sings on a stage", "two dogs run in a park",
         "a car drives down the road", "someone is slicing a tomato"],
        [["a man cooks pasta in the kitchen", "a chef is cooking noodles", "a man is making food in a kitchen"],
         ["a woman is singing on stage", "a singer performs a song"],
         ["two dogs are running through a park", "dogs play in the grass", "two puppies run", "a dog chases a dog"],
         ["a car is driving on a road", "a red car drives down the street"],
         ["a person slices a tomato", "someone cuts a tomato with a knife", "a tomato is being sliced"]],
    ),
    "an exact copy of a reference": (
        ["a man is slicing a tomato on a board", "the cat sat on the mat"],
        [["a man is slicing a tomato on a board", "someone cuts vegetables"], ["the cat is on the mat", "a cat sits"]],
    ),
    "repeated words are clipped": (
        ["the the the the the the the", "a dog a dog a dog", "people are dancing at a party"],
        [["the cat is on the mat", "there is a cat on the mat"], ["a dog is barking", "a dog runs"],
         ["people dance at a party", "a group of people are dancing"]],
    ),
    "short candidates and one reference each": (
        ["dog", "a cat", "a man runs", "the sun is shining today"],
        [["a dog barks loudly"], ["a cat is sleeping"], ["a man is running fast"], ["the sun shines today"]],
    ),
    "one clip shares no word with its references": (
        ["purple elephants fly", "a man is playing a guitar", "a woman is talking to the camera"],
        [["a person walks down the street", "someone is walking"], ["a man plays the guitar", "a guitarist plays"],
         ["a woman talks to the camera", "a lady speaks"]],
    ),
    "long candidates against short references": (
        ["a man in a black shirt is standing in front of a large crowd of people and talking loudly into a microphone",
         "a small boy is playing with a red ball in the garden while his mother watches him from the window"],
        [["a man gives a speech", "a man talks to a crowd"], ["a boy plays with a ball", "a child plays in a garden"]],
    ),
}


def _random_corpus(seed: int, clips: int = 30):
    """Captions drawn from a small vocabulary, so that n-grams recur across clips and references."""
    rng = random.Random(seed)
    vocabulary = "a the man dog is running in park".split()

    def sentence() -> str:
        return " ".join(rng.choice(vocabulary) for _ in range(rng.randint(2, 12)))

    return [sentence() for _ in range(clips)], [[sentence() for _ in range(rng.randint(1, 5))] for _ in range(clips)]


CORPORA.update({f"random vocabulary, seed {seed}": _random_corpus(seed) for seed in range(3)})


def _coco(scorer, candidates, references):
    for text in candidates + [r for refs in references for r in refs]:
        assert " ".join(tokenize(text)) == text  # both sides see the very same tokens
    gts = {i: list(refs) for i, refs in enumerate(references)}
    res = {i: [candidate] for i, candidate in enumerate(candidates)}
    return scorer.compute_score(gts, res)[0]


@pytest.mark.parametrize("name", CORPORA)
def test_bleu_matches_coco_caption(name):
    candidates, references = CORPORA[name]
    ours = bleu(candidates, references)
    theirs = _coco(Bleu(4), candidates, references)
    for n, (mine, coco) in enumerate(zip(ours, theirs), start=1):
        if mine == 0.0:
            # no n-gram of this order matched anywhere: ours is 0, coco-caption's 1e-15 smoothing leaves a
            # remainder of about (1e-15)^(1/n), under 0.1 points at every order
            assert 100 * coco < 0.1, f"BLEU-{n}"
        else:
            assert mine == pytest.approx(100 * coco, rel=1e-6), f"BLEU-{n}"


@pytest.mark.parametrize("name", CORPORA)
def test_rouge_l_matches_coco_caption(name):
    candidates, references = CORPORA[name]
    assert rouge_l(candidates, references) == pytest.approx(100 * _coco(Rouge(), candidates, references), rel=1e-9)


@pytest.mark.parametrize("name", CORPORA)
def test_cider_d_matches_coco_caption(name):
    candidates, references = CORPORA[name]
    assert cider_d(candidates, references) == pytest.approx(100 * _coco(Cider(), candidates, references), rel=1e-9, abs=1e-9)


def test_the_corpora_cover_the_edge_cases():
    """The set above really holds a BLEU-4 of zero (the smoothing case) and a clip scoring no ROUGE-L."""
    candidates, references = CORPORA["short candidates and one reference each"]
    assert bleu(candidates, references)[3] == 0.0
    candidates, references = CORPORA["one clip shares no word with its references"]
    assert rouge_l(candidates[:1], references[:1]) == 0.0
