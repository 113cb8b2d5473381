"""A new data set is one record in playground.datasets: the loader, the ladder, the families and the
tabs' actions find it there."""
import dataclasses

import numpy as np
import pytest

from playground import data, datasets, ladder
from playground.errors import InputError
from playground.families import features, gan, vae

IMAGES = np.random.default_rng(0).integers(0, 256, (12, 40, 30), dtype=np.uint8)
LABELS = np.arange(12) % 3


def _read(split, data_dir=None):
    return (IMAGES[:8], LABELS[:8]) if split == "train" else (IMAGES[8:], LABELS[8:]) if split == "test" \
        else (IMAGES, LABELS)


@pytest.fixture
def toy(monkeypatch):
    record = datasets.DataSet("toy-set", "Toy", _read, {"train": 8, "test": 4, "all": 12}, lambda d=None: True,
                              aliases=("toy",), resolution=16, class_word="shape", ladder_n=4,
                              prepare=lambda images, size: np.asarray(images)[:, :size, :size])
    monkeypatch.setitem(datasets.SOURCES, record.key, record)
    return record


def test_data_load_finds_a_record_by_key_or_alias_and_reads_its_splits(toy):
    images, labels = data.load("TOY", split="test", size=16)
    assert images.shape == (4, 16, 16) and np.array_equal(labels, LABELS[8:])
    assert data.available()["toy-set"] is True
    mnist = dataclasses.replace(toy, counts={"train": 8, "all": 8})
    datasets.SOURCES["toy-set"] = mnist
    with pytest.raises(InputError, match="no test split"):
        data.load("toy-set", split="test")


def test_the_ladder_uses_train_and_test_or_halves_of_what_generators_saw(toy, monkeypatch):
    sets = ladder.real_sets("toy-set")
    assert sets.n == 4 and sets.train.shape == (8, 40, 30) and sets.heldout.shape == (4, 40, 30)
    datasets.SOURCES["toy-set"] = dataclasses.replace(toy, generator_split="all")
    sets = ladder.real_sets("toy-set", size=20)
    assert sets.seen.shape == (12, 20, 20) and sets.n == 6  # prepared by the record, halves per label


def test_families_ask_the_record(toy):
    assert vae.test_images("toy", 16).shape == (4, 16, 16)
    assert features.test_set("toy-set", 16)[0].shape == (4, 16, 16)
    assert toy.names(2) == ["shape 1", "shape 2"] and datasets.ORL.names(1) == ["person 1"]
    model = gan.build(dict(latent_dim=8, g_width=4, d_width=4, image_size=16, dataset="toy-set"))
    scores = gan.discriminate(model, IMAGES[:2])  # cropped by the record's prepare, not a centre crop
    assert np.allclose(scores, gan.discriminate(model, np.ascontiguousarray(IMAGES[:2, :16, :16])))
    assert np.array_equal(gan.real_faces("toy", 16), IMAGES[:8, :16, :16])
