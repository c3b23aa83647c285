/**
 * Dataset readers (IDX, CIFAR-10 binaries, image folders, Japanese Vowels, UEA .ts, CSV tables and CSV
 * sequences, synthetic 2-D; raw or gzipped, any Hadoop path), in-memory labelled data with sequence
 * lengths, seeded splits and shards, and data fingerprints. Knows nothing of networks.
 */
package org.rollspark.data;
