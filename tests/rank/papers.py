"""Small hand-written papers and a synthetic edition generator for ranking tests."""

from __future__ import annotations

import random

from newsletter.models import Paper

CLUSTERS = {
    "tta": "test-time adaptation distribution shift entropy minimisation batch normalisation "
    "source-free target domain online",
    "lora": "low-rank adaptation LoRA fine-tuning adapters parameter-efficient rank "
    "decomposition language model",
    "robot": "robot manipulation grasping dexterous policy imitation learning embodied "
    "vision-language-action",
    "diffusion": "diffusion model image generation denoising score sampling latent "
    "text-to-image guidance",
    "stats": "bayesian inference posterior variance estimator regression confidence "
    "interval bootstrap",
}
FILLER = ["we", "propose", "method", "results", "experiments", "show", "approach", "novel"]


def paper(
    arxiv_id: str,
    title: str,
    abstract: str,
    *,
    upvotes: int | None = None,
    categories: tuple[str, ...] = (),
    authors: tuple[str, ...] = (),
) -> Paper:
    return Paper(
        arxiv_id=arxiv_id,
        title=title,
        abstract=abstract,
        upvotes=upvotes,
        categories=categories,
        authors=authors,
    )


def synthetic(n: int, seed: int = 7) -> list[Paper]:
    rng = random.Random(seed)
    names = list(CLUSTERS)
    out = []
    for i in range(n):
        cluster = names[i % len(names)]
        words = CLUSTERS[cluster].split()
        title = " ".join(rng.sample(words, 4)).capitalize()
        body = [
            rng.choice(words if rng.random() < 0.5 else FILLER) for _ in range(rng.randint(40, 120))
        ]
        out.append(
            paper(
                f"2501.{i:05d}",
                title,
                " ".join(body) + ".",
                upvotes=rng.choice([None, 0, 1, 3, 10, 40, 150]),
                categories=(rng.choice(["cs.LG", "cs.CV", "cs.RO", "stat.ME"]),),
                authors=(f"Author {i % 37}", f"Writer {i % 53}"),
            )
        )
    return out
