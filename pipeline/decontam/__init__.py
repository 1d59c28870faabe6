"""Decontamination: files that hold a benchmark's prompt or solution leave the build
(:mod:`pipeline.decontam.stage`), matched in one pass by an Aho-Corasick automaton
(:mod:`pipeline.decontam.matcher`) over patterns read from benchmark files
(:mod:`pipeline.decontam.benchmarks`)."""
