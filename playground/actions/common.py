"""What several tabs' actions share."""
import numpy as np

from .. import data, registry, validate
from ..errors import InputError
from ..families import protocol
from ..families.features import fit
from ..results import NotCached, cache_only  # noqa: F401 - for tabs.serving, which reaches the library through actions
from ..images import normalize_image, zoom


def fit_upload(src, size, invert_light=False):
    """An upload, drawing or array -> a grey size x size uint8 image: through the one normaliser,
    scaled to cover the square and centre-cropped. invert_light=True turns a light background dark,
    for models of light-on-black data such as Fashion-MNIST (photos and drawings are usually dark on
    white); the background is judged by the image's border."""
    grey = normalize_image(src, mode="L")[..., 0]
    if invert_light:
        border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
        if border.mean() > 127:
            grey = 255 - grey
    return fit(grey[None], size)[0]


def grey_drawing(composite, max_pixels):
    """A sketchpad's composite (PNG bytes, a path in the upload cache or a data: URL) as a grey HxW uint8
    array, through the one normaliser with a drawing-sized pixel cap."""
    return normalize_image(composite, mode="L", max_pixels=max_pixels)[..., 0]


def family_ids(family, reg=None):
    """Sorted ids of the installed cards of one family, given its module (playground.families.gan) or its
    name: what a tab offers for it (reads the cards, loads no weights)."""
    name = protocol.family_of(family)
    return sorted(i for i, c in (reg or registry.default()).cards().items() if c.family == name)


def usable_now(ids, reg=None):
    """(usable, needs network): ids split by whether they can run now. A hub model that is not in the local
    cache needs the network while the hub is unreachable (or HF_HUB_OFFLINE=1); menus leave those out."""
    reg = reg or registry.default()
    needs = [i for i in ids if reg.availability(i) == registry.NEEDS_NETWORK]
    return [i for i in ids if i not in needs], needs


def network_note(needs):
    """The sentence under a menu that left hub models out ("" when none was)."""
    if not needs:
        return ""
    names = ", ".join(f"`{i}`" for i in needs)
    return (f"*Needs the network, so not offered now:* {names} (from the Hugging Face hub, not in this machine's "
            "cache). Everything else here runs offline.")


def menu_choices(ids):
    """(label, id) pairs for a menu that keeps every model (the Models tab reads any card): a model that needs
    the network now is labelled so."""
    _, needs = usable_now(ids)
    return [(f"{i} ({registry.NEEDS_NETWORK})" if i in needs else i, i) for i in ids]


def pick_model(model_id, ids, what):
    """model_id if it is one of ids; else a clear message (none of `what` installed, or not one of them)."""
    if not ids:
        raise InputError(f"No {what} is installed in this playground yet.")
    return validate.choice(model_id, ids, name="Model")


def about(seconds):
    """A rough duration for a status line: "about 40 s", "about 3 min"."""
    seconds = max(1.0, float(seconds))
    return f"about {seconds:.0f} s" if seconds < 90 else f"about {seconds / 60:.0f} min"


def stopped_by(should_stop):
    """Whether a view's Stop (the optional should_stop callable its action takes) asks the run to end."""
    return should_stop is not None and bool(should_stop())


def gallery_thumbnails(count=24):
    """The first `count` images of the shipped Fashion-MNIST gallery, enlarged, captioned "index: class"."""
    images, labels = data.fashion_gallery()
    return [(zoom(images[i], 56), f"{i}: {data.FASHION_CLASSES[int(labels[i])]}") for i in range(count)]
