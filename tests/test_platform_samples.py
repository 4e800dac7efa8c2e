"""Every platform in the registry, held to what it declares: its samples parse into the posts it
says (a change of a platform's format shows up here first), and its spec examples are claimed by
it and read back from their labels. A new platform is checked by adding it to NAMES, no test to
write."""

from __future__ import annotations

import pytest

from tawthiq.crawlers.platforms import Platform, Sample, all_platforms, parse_spec

PLATFORMS = all_platforms()
SAMPLES = [(p, s) for p in PLATFORMS for s in p.SAMPLES]


def _id(value: object) -> str:
    if isinstance(value, Platform):
        return value.name
    return value.file if isinstance(value, Sample) else str(value)


def test_the_registry_is_not_empty_and_names_are_unique() -> None:
    names = [p.name for p in PLATFORMS]
    assert names and len(names) == len(set(names)), names


@pytest.mark.parametrize("platform", PLATFORMS, ids=_id)
def test_a_platform_with_posts_has_samples_and_every_sample_says_its_format(platform: Platform) -> None:
    if platform.has_posts:
        assert platform.SAMPLES, f"{platform.name} yields posts but declares no SAMPLES"
    for sample in platform.SAMPLES:
        assert sample.format.strip(), f"{platform.name}/{sample.file}: empty format"
        assert sample.url.startswith(("http://", "https://")), sample.url
        assert sample.count >= len(sample.expect), f"{sample.file}: more expectations than posts"
        assert (platform.folder / "samples" / sample.file).is_file(), f"missing {platform.folder}/samples/{sample.file}"


@pytest.mark.parametrize("platform, sample", SAMPLES, ids=_id)
def test_sample_parses_into_the_declared_posts(platform: Platform, sample: Sample) -> None:
    body = (platform.folder / "samples" / sample.file).read_bytes()
    posts = platform.parse_sample(body, sample.url)
    problems = sample.mismatches(posts)
    assert not problems, "\n".join(problems)
    assert all(post.platform == platform.name for post in posts)
    assert len({post.post_id for post in posts}) == len(posts), "post ids repeat within one sample"


def test_mismatches_catch_what_they_should() -> None:
    """The checker itself: a wrong value, a missing snippet, a wrong media list and a misspelled
    field each make a line; a partial nested match does not."""
    from tawthiq.crawlers.models import Media, Post

    post = Post(platform="x", source="s", post_id="s/1", url="https://x/1", text="hello world",
                media=[Media(kind="photo", url="https://x/p.jpg")])
    assert Sample("f", "fmt", "https://x", 1, [{"post_id": "s/1", "text_contains": "world",
                                                "media": [{"kind": "photo"}]}]).mismatches([post]) == []
    wrong = Sample("f", "fmt", "https://x", 2, [{"post_id": "s/2", "text_contains": "bye",
                                                 "media": [{"kind": "video"}], "auther": "a"}]).mismatches([post])
    assert len(wrong) == 5, wrong
    assert any("no field 'auther'" in line for line in wrong)


@pytest.mark.parametrize("platform", PLATFORMS, ids=_id)
def test_every_spec_form_has_an_example_that_parses_to_its_platform(platform: Platform) -> None:
    assert platform.forms, f"{platform.name} declares no spec forms"
    assert len(platform.EXAMPLES) >= len(platform.forms), (
        f"{platform.name}: give a concrete EXAMPLES entry for each of {platform.forms}")
    for example in platform.EXAMPLES:
        target = parse_spec(example)
        assert target.kind == platform.name, f"{example!r} was claimed by {target.kind}, not {platform.name}"
        # The label is the catalog's key for the source: it must name the same target again.
        again = parse_spec(target.label)
        assert (again.kind, again.value) == (target.kind, target.value), (example, target.label)
