/** Dataset readers (IDX, raw or gzipped), in-memory labelled data, seeded splits and data fingerprints. */
package org.rollspark.data;
